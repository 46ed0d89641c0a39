/**
 * Signed lease → submit cycles per second, with 50 and 200 concurrent simulated miners (real keys, real
 * HTTP), on SQLite and on PostgreSQL, next to a ceiling measured in the same run: a bare Fastify process
 * whose lease and submit routes only verify the same sr25519 headers.
 * Run: node --import tsx bench/cycles.bench.ts [--seconds 10] [--store sqlite|postgres|both]
 */
import { keyFromSecret } from '../src/crypto/keys.ts'
import { SimulatedMiner } from '../src/simulation/miner.ts'
import { freePort } from '../test/load/support.ts'
import { flag, printTable, round, runCycles, startScript, stores, withPoolServer, writeResult } from './support.ts'

const seconds = flag('seconds', 10)
const CONCURRENCY = [50, 200]

interface Run {
  target: string
  miners: number
  cycles: number
  cycles_per_s: number
  p50_ms: number
  p99_ms: number
  p99_over_p50: number
  errors: number
}

async function drive(target: string, url: string, count: number): Promise<Run> {
  let errors = 0
  const miners = await Promise.all(
    Array.from(
      { length: count },
      async (_, i) =>
        new SimulatedMiner(await keyFromSecret(`//bench-${target}-${count}-${i}`), url, i % 5 !== 0, (c) => {
          if (c.status !== 200) errors++
        }),
    ),
  )
  return { target, miners: count, ...(await runCycles(miners, seconds)), errors }
}

export async function benchCycles(): Promise<Array<Run & { ratio_to_ceiling: number }>> {
  const runs: Run[] = []
  const ceilingPort = await freePort()
  const ceiling = await startScript(new URL('./ceiling-server.ts', import.meta.url).pathname, [], ceilingPort)
  try {
    for (const n of CONCURRENCY) runs.push(await drive('ceiling', ceiling.url, n))
  } finally {
    await ceiling.stop()
  }
  for (const kind of stores()) {
    await withPoolServer(kind, async (server) => {
      for (const n of CONCURRENCY) runs.push(await drive(kind, server.url, n))
    })
  }
  const ceilingOf = (n: number): number => runs.find((r) => r.target === 'ceiling' && r.miners === n)?.cycles_per_s ?? 0
  return runs.map((r) => ({ ...r, ratio_to_ceiling: round(r.cycles_per_s / ceilingOf(r.miners), 2) }))
}

if (process.argv[1]?.endsWith('cycles.bench.ts')) {
  const results = await benchCycles()
  printTable(`lease → submit cycles (${seconds} s each)`, results)
  writeResult('cycles', { seconds, results })
}
