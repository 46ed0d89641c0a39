/**
 * `sotapool simulate`: N signed miners against a pool URL for a bounded time, with a summary; or, with
 * `--strategies`, populations of honest and cheating miners against an in-process pool with this
 * configuration (the cheating simulator), with how each strategy fared.
 */
import { SingleBar, Presets } from 'cli-progress'
import { InvalidArgumentError, type Command } from 'commander'
import type { Strategy } from '../simulation/cheating.ts'
import type { CallRecord } from '../simulation/miner.ts'
import { parseInteger } from './common.ts'

const parseFraction = (value: string): number => {
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError('--dishonest must be a fraction between 0 and 1')
  return n
}

const parseRecipient = (value: string): string => {
  // The SS58 check needs no WebAssembly, so it runs while options are parsed.
  if (!/^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(value.trim()))
    throw new InvalidArgumentError('--recipient must be an SS58 address (prefix 42)')
  return value.trim()
}

const parseUrl = (value: string): string => {
  if (!/^https?:\/\/[^\s/]+/.test(value))
    throw new InvalidArgumentError('--url must be an http(s) URL such as http://127.0.0.1:8434')
  return value.replace(/\/+$/, '')
}

const STRATEGY_NAMES = ['honest', 'noisy', 'liar', 'lazy', 'coalition', 'sybil']

/** `honest=20,coalition=10`: miners per strategy. */
const parseStrategies = (value: string): Partial<Record<Strategy, number>> => {
  const population: Partial<Record<Strategy, number>> = {}
  for (const part of value.split(',')) {
    const [name, count] = part.split('=').map((x) => x.trim())
    if (name === undefined || !STRATEGY_NAMES.includes(name))
      throw new InvalidArgumentError(
        `--strategies: unknown strategy "${name ?? ''}" (use ${STRATEGY_NAMES.join(', ')})`,
      )
    const n = Number(count)
    if (!Number.isInteger(n) || n < 0 || n > 1000)
      throw new InvalidArgumentError(`--strategies: ${name} needs a count from 0 to 1000, as in ${name}=10`)
    population[name as Strategy] = n
  }
  if (Object.values(population).reduce((a, b) => a + b, 0) < 2)
    throw new InvalidArgumentError('--strategies: at least two miners are needed')
  return population
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('Run N simulated miners (real keys and signatures) against a pool for a while and summarise')
    .option('--url <url>', 'Pool API base URL', parseUrl, 'http://127.0.0.1:8434')
    .option('--miners <n>', 'number of simulated miners', parseInteger('--miners', 1), 10)
    .option('--duration <seconds>', 'how long to run', parseInteger('--duration', 1), 30)
    .option('--dishonest <fraction>', 'share of miners that report random scores', parseFraction, 0.25)
    .option('--seed-phrase <prefix>', 'keys are derived as //<prefix><i>, so runs can reuse miners', 'sim')
    .option('--recipient <ss58>', 'set this recipient coldkey for every miner first', parseRecipient)
    .option('--json', 'print the summary as JSON')
    .option(
      '--strategies <list>',
      `cheating simulator: miners per strategy (${STRATEGY_NAMES.join(', ')}), e.g. honest=20,coalition=10; runs in-process with this configuration, no --url`,
      parseStrategies,
    )
    .option('--windows <n>', 'cheating simulator: windows to play', parseInteger('--windows', 1), 6)
    .option('--seed <n>', 'cheating simulator: random seed (a seed replays exactly)', parseInteger('--seed', 0), 1)
    .option(
      '--cheat-from <window>',
      'cheating simulator: cheaters play honest before this window (0: from the start)',
      parseInteger('--cheat-from', 0),
      0,
    )
    .action(
      async (opts: {
        url: string
        miners: number
        duration: number
        dishonest: number
        seedPhrase: string
        recipient?: string
        json?: boolean
        strategies?: Partial<Record<Strategy, number>>
        windows: number
        seed: number
        cheatFrom: number
      }) => {
        if (opts.strategies !== undefined) {
          await simulateStrategies({ ...opts, strategies: opts.strategies })
          return
        }
        const { keyFromSecret } = await import('../crypto/keys.ts')
        const { SimulatedMiner } = await import('../simulation/miner.ts')
        const calls: CallRecord[] = []
        const record = (c: CallRecord): void => {
          calls.push(c)
        }
        const dishonestCount = Math.round(opts.miners * opts.dishonest)
        const miners = await Promise.all(
          Array.from(
            { length: opts.miners },
            async (_, i) =>
              new SimulatedMiner(
                await keyFromSecret(`//${opts.seedPhrase}${i}`),
                opts.url,
                i >= dishonestCount,
                record,
              ),
          ),
        )
        if (opts.recipient !== undefined) {
          const { isHotkey } = await import('../crypto/sr25519.ts')
          if (!isHotkey(opts.recipient))
            throw new Error(`--recipient ${opts.recipient} is not an SS58 address with prefix 42`)
          const set = await Promise.all(miners.map(async (m) => await m.setRecipient(opts.recipient!)))
          if (!set.some((ok) => ok)) {
            const failed = calls.find((c) => c.route === 'recipient')
            throw new Error(
              `no miner could set its recipient at ${opts.url}: ${failed?.error ?? `${failed?.status ?? '?'} ${failed?.code ?? ''}`}`,
            )
          }
        }

        const bar =
          opts.json === true
            ? undefined
            : new SingleBar(
                {
                  format:
                    'simulating |{bar}| {value}/{total} s | leases {leases} | submits {submits} | errors {errors}',
                },
                Presets.shades_classic,
              )
        bar?.start(opts.duration, 0, { leases: 0, submits: 0, errors: 0 })
        const started = Date.now()
        const deadline = started + opts.duration * 1000
        const ticker = setInterval(() => {
          bar?.update(Math.min(opts.duration, Math.floor((Date.now() - started) / 1000)), {
            leases: calls.filter((c) => c.route === 'lease' && c.status === 200).length,
            submits: calls.filter((c) => c.route === 'submit' && c.status === 200).length,
            errors: calls.filter((c) => c.status !== 200 && c.status !== 404).length,
          })
        }, 500)
        await Promise.all(
          miners.map(async (m) => {
            while (Date.now() < deadline) {
              // No work (404) or a busy miner: back off briefly, as real clients do.
              if (!(await m.cycle())) await new Promise((r) => setTimeout(r, 500))
            }
          }),
        )
        clearInterval(ticker)
        bar?.update(opts.duration)
        bar?.stop()

        const summary = await summarise(calls, (Date.now() - started) / 1000, opts.miners, dishonestCount)
        if (opts.json === true) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
        else printSummary(summary)
        if (summary.submissions === 0) {
          const unreachable = calls.find((c) => c.error !== undefined)
          process.stderr.write(
            `sotapool: nothing succeeded: no submission was accepted by ${opts.url}${unreachable === undefined ? '' : ` (${unreachable.error})`}\n`,
          )
          process.exitCode = 1
        }
      },
    )
}

/** The cheating simulator with the operator's own consensus, points and payout settings. */
async function simulateStrategies(opts: {
  strategies: Partial<Record<Strategy, number>>
  windows: number
  seed: number
  cheatFrom: number
  json?: boolean
}): Promise<void> {
  const { CONFIG_VARIABLES } = await import('../config.ts')
  const { simulateCheating } = await import('../simulation/cheating.ts')
  // The store, logging, jobs and epoch length are the simulator's own; every other setting is this pool's.
  const own = new Set(['DATABASE_URL', 'BACKGROUND_JOBS', 'LOG_LEVEL', 'EPOCH_WINDOWS', 'AUTH_VERIFY_THREADS'])
  const env: Record<string, string> = {}
  for (const variable of Object.values(CONFIG_VARIABLES)) {
    const value = process.env[variable.name]
    if (value !== undefined && !own.has(variable.name)) env[variable.name] = value
  }
  const report = await simulateCheating({
    population: opts.strategies,
    windows: opts.windows,
    seed: opts.seed,
    cheatFrom: opts.cheatFrom,
    env,
  })
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    return
  }
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`
  const lines = [
    `${opts.windows} windows, seed ${opts.seed}${opts.cheatFrom > 0 ? `, cheaters honest before window ${opts.cheatFrom}` : ''}: ${report.decided} algorithms decided`,
    `fake SOTAs ${report.fakeSotas}; honest programs rejected ${report.honestRejected} and mis-scored ${report.honestMisscored} of ${report.honestEvolutions}; honest evaluators marked disagreeing ${report.honestMarkedDisagreeing}`,
    `honest payout ÷ fair ${report.honestPayoutRatio.toFixed(2)}`,
    'strategy     miners  points   payout   payout÷fair  agree  disagree  windows earning  neutralised after',
    ...report.strategies.map(
      (r) =>
        `${r.strategy.padEnd(12)}${String(r.miners).padStart(7)}${pct(r.pointsShare).padStart(9)}${pct(r.payoutShare).padStart(9)}${r.payoutRatio.toFixed(2).padStart(13)}${String(r.agreements).padStart(7)}${String(r.disagreements).padStart(10)}${(r.windowsEarning === null ? '—' : r.windowsEarning.toFixed(1)).padStart(17)}${(r.windowsToNeutralise === null ? '—' : `${r.windowsToNeutralise.toFixed(1)} windows`).padStart(19)}`,
    ),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

async function summarise(calls: CallRecord[], seconds: number, miners: number, dishonest: number) {
  const { percentile } = await import('../simulation/miner.ts')
  const latency = (route: CallRecord['route']) => {
    const ms = calls
      .filter((c) => c.route === route)
      .map((c) => c.ms)
      .sort((a, b) => a - b)
    return {
      count: ms.length,
      p50_ms: round(percentile(ms, 50)),
      p90_ms: round(percentile(ms, 90)),
      p99_ms: round(percentile(ms, 99)),
      max_ms: round(ms.at(-1) ?? 0),
    }
  }
  const errors: Record<string, number> = {}
  for (const c of calls) if (c.code !== null) errors[c.code] = (errors[c.code] ?? 0) + 1
  const leases = calls.filter((c) => c.route === 'lease' && c.status === 200).length
  const submissions = calls.filter((c) => c.route === 'submit' && c.status === 200).length
  return {
    seconds: round(seconds),
    miners,
    dishonest_miners: dishonest,
    leases,
    submissions,
    cycles_per_second: round(submissions / seconds),
    errors_by_code: errors,
    first_network_error: calls.find((c) => c.error !== undefined)?.error ?? null,
    latency: { lease: latency('lease'), submit: latency('submit') },
  }
}

function printSummary(s: Awaited<ReturnType<typeof summarise>>): void {
  const lines = [
    `miners ${s.miners} (${s.dishonest_miners} dishonest), ${s.seconds} s`,
    `leases ${s.leases}, submissions ${s.submissions}, ${s.cycles_per_second} cycles/s`,
    `errors by code: ${
      Object.keys(s.errors_by_code).length === 0
        ? 'none'
        : Object.entries(s.errors_by_code)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
    }`,
    ...(s.first_network_error === null ? [] : [`first network error: ${s.first_network_error}`]),
    'latency        count    p50 ms   p90 ms   p99 ms   max ms',
    ...(['lease', 'submit'] as const).map((r) => {
      const l = s.latency[r]
      return `${r.padEnd(12)}${String(l.count).padStart(8)}${String(l.p50_ms).padStart(10)}${String(l.p90_ms).padStart(9)}${String(l.p99_ms).padStart(9)}${String(l.max_ms).padStart(9)}`
    }),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

const round = (n: number): number => Math.round(n * 100) / 100
