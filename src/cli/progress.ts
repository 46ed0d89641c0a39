/**
 * Progress of long operator commands on standard error (stdout stays JSON): a bar when stderr is a
 * terminal, or always with SOTAPOOL_PROGRESS=always (for logs of scheduled jobs).
 */
import { Presets, SingleBar } from 'cli-progress'

export interface Progress {
  tick(by?: number): void
  stop(): void
}

export function progress(label: string, total: number): Progress {
  const forced = process.env.SOTAPOOL_PROGRESS === 'always'
  if (total <= 0 || (!forced && process.stderr.isTTY !== true)) return { tick: () => {}, stop: () => {} }
  const bar = new SingleBar(
    {
      format: `${label} |{bar}| {value}/{total} {eta_formatted}`,
      stream: process.stderr,
      noTTYOutput: forced,
      notTTYSchedule: 1000,
      hideCursor: true,
    },
    Presets.shades_classic,
  )
  bar.start(total, 0)
  let done = 0
  return {
    tick(by = 1) {
      done += by
      bar.update(done)
    },
    stop() {
      bar.stop()
    },
  }
}
