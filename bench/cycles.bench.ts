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
  /** The failed requests by route, status and code, e.g. `submit 409 POOL_ERR_…`. */
  error_codes: string
}

async function drive(target: string, url: string, count: number): Promise<Run> {
  const codes = new Map<string, number>()
  const miners = await Promise.all(
    Array.from(
      { length: count },
      async (_, i) =>
        new SimulatedMiner(await keyFromSecret(`//bench-${target}-${count}-${i}`), url, i % 5 !== 0, (c) => {
          if (c.status === 200) return
          const key = `${c.route} ${c.status} ${c.code ?? ''}`.trim()
          codes.set(key, (codes.get(key) ?? 0) + 1)
        }),
    ),
  )
  const run = await runCycles(miners, seconds)
  const errors = [...codes.values()].reduce((a, b) => a + b, 0)
  const error_codes = errors === 0 ? '-' : [...codes].map(([k, n]) => `${n}× ${k}`).join(', ')
  return { target, miners: count, ...run, errors, error_codes }
}

type Target = 'sqlite' | 'postgres' | 'postgres-tcp'

/**
 * Each store run is paired with a ceiling run just before it at the same concurrency: the machine's speed
 * drifts over minutes (shared cores), so a ratio to a ceiling measured long before would carry the drift.
 * PostgreSQL is reached over its Unix socket when it is on this host (see the README), and once more over
 * TCP loopback at 50 miners to show what the transport costs.
 */
export async function benchCycles(): Promise<Array<Run & { ceiling_cycles_per_s: number; ratio_to_ceiling: number }>> {
  const plan: Array<{ target: Target; miners: number }> = []
  for (const kind of stores()) {
    for (const n of CONCURRENCY) plan.push({ target: kind, miners: n })
    if (kind === 'postgres') plan.push({ target: 'postgres-tcp', miners: CONCURRENCY[0]! })
  }
  const urls = new Map<Target, string>()
  const results: Array<Run & { ceiling_cycles_per_s: number; ratio_to_ceiling: number }> = []
  const ceilingPort = await freePort()
  const ceiling = await startScript(new URL('./ceiling-server.ts', import.meta.url).pathname, [], ceilingPort)
  const run = async (): Promise<void> => {
    for (const step of plan) {
      const bare = await drive('ceiling', ceiling.url, step.miners)
      const r = await drive(step.target, urls.get(step.target)!, step.miners)
      results.push({
        ...r,
        ceiling_cycles_per_s: bare.cycles_per_s,
        ratio_to_ceiling: round(r.cycles_per_s / bare.cycles_per_s, 2),
      })
    }
  }
  // One pool server per target, all started before the first run and idle while another is driven.
  const targets = [...new Set(plan.map((p) => p.target))]
  const withServers = async (i: number): Promise<void> => {
    if (i === targets.length) return await run()
    const target = targets[i]!
    await withPoolServer(
      target === 'sqlite' ? 'sqlite' : 'postgres',
      async (server) => {
        urls.set(target, server.url)
        await withServers(i + 1)
      },
      { transport: target === 'postgres-tcp' ? 'tcp' : 'socket' },
    )
  }
  try {
    await withServers(0)
  } finally {
    await ceiling.stop()
  }
  return results
}

if (process.argv[1]?.endsWith('cycles.bench.ts')) {
  const results = await benchCycles()
  printTable(`lease → submit cycles (${seconds} s each)`, results)
  writeResult('cycles', { seconds, results })
}
