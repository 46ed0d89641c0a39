/**
 * `npm run bench:cheating`: how cheating fares against the pool's rules, from the in-process simulator
 * (src/simulation/cheating.ts) at default settings.
 *
 * 1. The coalition curve: 30 miners (honest, a fifth of them noisy) of which 0 % … 50 % form a coalition;
 *    per size, over seeded runs: fake SOTAs crowned and honest programs rejected (totals), honest
 *    evaluators marked as disagreeing, the coalition's payout against its share of keys, the honest
 *    miners' payout ratio, and how many windows the coalition kept earning.
 * 2. A third of the miners colluding in three variants: from the start, as turncoats (honest for two
 *    windows, trusted, then colluding), and from the start against plain 2-of-3 consensus (the defences
 *    off), for comparison.
 * 3. A mixed population with one group of every strategy.
 *
 * Prints Markdown tables (the README's are copied from a run of this script) and writes
 * bench-results/cheating.json. Flags: --windows N (default 6), --seeds N (default 5), --miners N (30).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { simulateCheating, type CheatingReport, type CheatingScenario } from '../src/simulation/cheating.ts'

const flag = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}
const windows = flag('windows', 6)
const seeds = flag('seeds', 5)
const total = flag('miners', 30)

/** The pool before the defences: plain 2-of-3, equal votes, work to whoever asks first. */
const PLAIN_K_OF_N = {
  CONSENSUS_MAX_SAMPLE_SIZE: '3',
  VOTE_WEIGHTING: 'equal',
  ASSIGNMENT_SPREAD: '0',
  ASSIGNMENT_SEPARATE_RECIPIENTS: 'false',
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length
const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0)
const fixed = (x: number, digits = 2): string => x.toFixed(digits)
const coalitionOf = (r: CheatingReport) => r.strategies.find((x) => x.strategy === 'coalition')

interface Row {
  label: string
  coalition_share: number
  runs: number
  windows: number
  fake_sotas: number
  honest_rejected: number
  honest_evolutions: number
  honest_marked_disagreeing: number
  coalition_payout_ratio: number | null
  honest_payout_ratio: number
  coalition_windows_earning: number | null
}

async function row(label: string, fraction: number, extra: Partial<CheatingScenario> = {}): Promise<Row> {
  const coalition = Math.round(total * fraction)
  const noisy = Math.round((total - coalition) / 5)
  const runs: CheatingReport[] = []
  const played = extra.windows ?? windows
  for (let seed = 1; seed <= seeds; seed++) {
    runs.push(
      await simulateCheating({
        population: { honest: total - coalition - noisy, noisy, coalition },
        windows: played,
        seed,
        ...extra,
      }),
    )
  }
  process.stderr.write(`${label}: done\n`)
  return {
    label,
    coalition_share: coalition / total,
    runs: runs.length,
    windows: played,
    fake_sotas: sum(runs.map((r) => r.fakeSotas)),
    honest_rejected: sum(runs.map((r) => r.honestRejected)),
    honest_evolutions: sum(runs.map((r) => r.honestEvolutions)),
    honest_marked_disagreeing: mean(runs.map((r) => r.honestMarkedDisagreeing)),
    coalition_payout_ratio: coalition === 0 ? null : mean(runs.map((r) => coalitionOf(r)!.payoutRatio)),
    honest_payout_ratio: mean(runs.map((r) => r.honestPayoutRatio)),
    coalition_windows_earning: coalition === 0 ? null : mean(runs.map((r) => coalitionOf(r)!.windowsEarning!)),
  }
}

const started = Date.now()
const curve: Row[] = []
for (const fraction of [0, 0.1, 0.2, 1 / 3, 0.4, 0.5]) {
  curve.push(await row(`${fixed(100 * fraction, 0)} %`, fraction))
}
const variants: Row[] = [
  curve.find((r) => Math.abs(r.coalition_share - 1 / 3) < 0.01)!,
  await row('33 %, turncoats (honest for 2 windows first)', 1 / 3, { cheatFrom: 2, windows: windows + 2 }),
  await row('33 %, defences off (plain 2-of-3)', 1 / 3, { env: PLAIN_K_OF_N }),
]
const mixed = await simulateCheating({
  population: { honest: 14, noisy: 4, liar: 3, lazy: 3, coalition: 3, sybil: 3 },
  windows,
  seed: 1,
})

const table = (rows: Row[], first: string): string[] => [
  `| ${first} | fake SOTAs | honest programs rejected | honest marked disagreeing (mean) | coalition payout ÷ fair | honest payout ÷ fair | windows the coalition earned |`,
  '|---|---|---|---|---|---|---|',
  ...rows.map(
    (c) =>
      `| ${c.label} | ${c.fake_sotas} | ${c.honest_rejected} of ${c.honest_evolutions} | ${fixed(c.honest_marked_disagreeing, 1)} | ${c.coalition_payout_ratio === null ? '—' : fixed(c.coalition_payout_ratio)} | ${fixed(c.honest_payout_ratio)} | ${c.coalition_windows_earning === null ? '—' : `${fixed(c.coalition_windows_earning, 1)} of ${c.windows}`} |`,
  ),
]

const lines: string[] = []
lines.push(
  `Coalition curve: ${total} miners, ${windows} windows, totals (and means) over ${seeds} seeded runs, default settings.`,
  '',
  ...table(curve, 'coalition'),
  '',
  `A third of the miners colluding, ${seeds} seeded runs each:`,
  '',
  ...table(variants, 'coalition of 33 %'),
  '',
  `Mixed population (seed 1, ${windows} windows): fake SOTAs ${mixed.fakeSotas}, honest programs rejected ${mixed.honestRejected} of ${mixed.honestEvolutions}.`,
  '',
  '| strategy | miners | points ÷ fair | payout ÷ fair | agreements | disagreements | windows still earning |',
  '|---|---|---|---|---|---|---|',
  ...mixed.strategies.map(
    (s) =>
      `| ${s.strategy} | ${s.miners} | ${fixed(s.pointsShare / s.fairShare)} | ${fixed(s.payoutRatio)} | ${s.agreements} | ${s.disagreements} | ${s.windowsEarning === null ? '—' : `${fixed(s.windowsEarning, 1)} of ${windows}`} |`,
  ),
)
process.stdout.write(`${lines.join('\n')}\n\n(${Math.round((Date.now() - started) / 1000)} s)\n`)
mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true })
writeFileSync(
  new URL('../bench-results/cheating.json', import.meta.url),
  `${JSON.stringify({ windows, seeds, miners: total, curve, variants, mixed }, null, 2)}\n`,
)
