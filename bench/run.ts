/**
 * `npm run bench`: every benchmark in one bounded run on loopback, each next to a baseline measured in the
 * same run. Prints the tables and writes bench-results/*.json (summary.json holds them all). A full run on
 * both stores also writes bench/results.json, which is committed: the README's performance table is
 * generated from it (`npm run docs:tables`), so the README always shows the last full run.
 * Flags: --quick (shorter runs, smaller data), --store sqlite|postgres|both.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { benchCycles } from './cycles.bench.ts'
import { benchDsl } from './dsl.bench.ts'
import { benchEpochClose } from './epoch-close.bench.ts'
import { benchFlood } from './flood.bench.ts'
import { benchLatency } from './latency.bench.ts'
import { benchProofs } from './proofs.bench.ts'
import { hasFlag, machine, printTable, stores, writeResult } from './support.ts'

const quick = hasFlag('quick')
if (quick)
  process.argv.push('--seconds', '4', '--leaves', '20000', '--close-miners', '2000', '--close-evaluations', '100000')

const summary: Record<string, unknown> = {}
const section = async <T extends object[]>(name: string, title: string, run: () => Promise<T>): Promise<void> => {
  const started = Date.now()
  const results = await run()
  summary[name] = results
  printTable(`${title} (${Math.round((Date.now() - started) / 1000)} s)`, results)
}

await section('cycles', '1. signed lease → submit cycles vs a bare route verifying the same headers', benchCycles)
await section('latency', '1c. open-loop latency: 200 miners, one cycle each every 2 s', benchLatency)
await section('flood', '1b. honest miners during an invalid-signature flood', benchFlood)
await section('proofs', '2. proof requests for a closed epoch vs a bare constant-JSON route', benchProofs)
await section('epoch_close', '3. window + epoch close', benchEpochClose)

await section('dsl', '5. DSL validation at the size limit vs reading every character once', async () => benchDsl())

// 4. The claim tree benchmark is its own script (it times builds in a clean process).
const tree = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    new URL('./claim-tree.bench.ts', import.meta.url).pathname,
    ...(quick ? ['--runs', '1'] : ['--full', '--runs', '1']),
  ],
  { stdio: 'inherit' },
)
if (tree.status !== 0) throw new Error('claim-tree benchmark failed')
summary.claim_tree = JSON.parse(readFileSync(new URL('../bench-results/claim-tree.json', import.meta.url), 'utf8'))

writeResult('summary', { quick, ...summary })
process.stdout.write('\nwrote bench-results/summary.json\n')
if (!quick && stores().length === 2) {
  writeFileSync(
    new URL('./results.json', import.meta.url),
    `${JSON.stringify({ machine: machine(), at: new Date().toISOString(), ...summary }, null, 2)}\n`,
  )
  process.stdout.write('wrote bench/results.json; `npm run docs:tables` puts it in the README\n')
}
