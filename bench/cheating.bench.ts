/**
 * `npm run bench:cheating`: how cheating fares against the pool's rules, from the in-process simulator
 * (src/simulation/cheating.ts) at default settings.
 *
 * 1. The coalition curve: 30 miners (honest, a few noisy) of which 0 % … 50 % form a coalition; per size,
 *    the mean over seeded runs of fake SOTAs crowned, honest programs wrongly rejected, honest evaluators
 *    marked as disagreeing, the coalition's share of points and payouts against its share of keys, and
 *    the honest miners' payout ratio.
 * 2. A mixed population with one group of every strategy.
 *
 * Prints Markdown tables (the README's are copied from a run of this script) and writes
 * bench-results/cheating.json. Flags: --windows N (default 6), --seeds N (default 3), --miners N (30).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { simulateCheating, type CheatingReport, type Strategy } from '../src/simulation/cheating.ts'

const flag = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}
const windows = flag('windows', 6)
const seeds = flag('seeds', 3)
const total = flag('miners', 30)

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length
const fixed = (x: number, digits = 2): string => x.toFixed(digits)
const share = (r: CheatingReport, s: Strategy) => r.strategies.find((x) => x.strategy === s)

const started = Date.now()
const curve: Array<Record<string, number>> = []
for (const fraction of [0, 0.1, 0.2, 1 / 3, 0.4, 0.5]) {
  const coalition = Math.round(total * fraction)
  const noisy = Math.round((total - coalition) / 5)
  const runs: CheatingReport[] = []
  for (let seed = 1; seed <= seeds; seed++) {
    runs.push(
      await simulateCheating({ population: { honest: total - coalition - noisy, noisy, coalition }, windows, seed }),
    )
  }
  curve.push({
    coalition_share: coalition / total,
    fake_sotas: mean(runs.map((r) => r.fakeSotas)),
    honest_rejected_pct: mean(runs.map((r) => (100 * r.honestRejected) / Math.max(1, r.honestEvolutions))),
    honest_marked_disagreeing: mean(runs.map((r) => r.honestMarkedDisagreeing)),
    coalition_points_ratio:
      coalition === 0
        ? 0
        : mean(runs.map((r) => share(r, 'coalition')!.pointsShare / share(r, 'coalition')!.fairShare)),
    coalition_payout_ratio: coalition === 0 ? 0 : mean(runs.map((r) => share(r, 'coalition')!.payoutRatio)),
    honest_payout_ratio: mean(runs.map((r) => r.honestPayoutRatio)),
  })
  process.stderr.write(`coalition ${coalition}/${total}: done\n`)
}

const mixed = await simulateCheating({
  population: { honest: 14, noisy: 4, liar: 3, lazy: 3, coalition: 3, sybil: 3 },
  windows,
  seed: 1,
})

const lines: string[] = []
lines.push(`Coalition curve: ${total} miners, ${windows} windows, mean of ${seeds} seeded runs, default settings.`, '')
lines.push(
  '| coalition | fake SOTAs | honest programs rejected | honest marked disagreeing | coalition points ÷ fair | coalition payout ÷ fair | honest payout ÷ fair |',
  '|---|---|---|---|---|---|---|',
)
for (const c of curve) {
  lines.push(
    `| ${fixed(100 * c.coalition_share!, 0)} % | ${fixed(c.fake_sotas!, 1)} | ${fixed(c.honest_rejected_pct!, 0)} % | ${fixed(c.honest_marked_disagreeing!, 0)} | ${c.coalition_share === 0 ? '—' : fixed(c.coalition_points_ratio!)} | ${c.coalition_share === 0 ? '—' : fixed(c.coalition_payout_ratio!)} | ${fixed(c.honest_payout_ratio!)} |`,
  )
}
lines.push(
  '',
  `Mixed population (seed 1, ${windows} windows): fake SOTAs ${mixed.fakeSotas}, honest programs rejected ${mixed.honestRejected} of ${mixed.honestEvolutions}.`,
  '',
)
lines.push(
  '| strategy | miners | points ÷ fair | payout ÷ fair | agreements | disagreements | windows still earning |',
  '|---|---|---|---|---|---|---|',
)
for (const s of mixed.strategies) {
  lines.push(
    `| ${s.strategy} | ${s.miners} | ${fixed(s.pointsShare / s.fairShare)} | ${fixed(s.payoutRatio)} | ${s.agreements} | ${s.disagreements} | ${s.windowsEarning === null ? '—' : `${fixed(s.windowsEarning, 1)} of ${windows}`} |`,
  )
}
process.stdout.write(`${lines.join('\n')}\n\n(${Math.round((Date.now() - started) / 1000)} s)\n`)
mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true })
writeFileSync(
  new URL('../bench-results/cheating.json', import.meta.url),
  `${JSON.stringify({ windows, seeds, miners: total, curve, mixed }, null, 2)}\n`,
)
