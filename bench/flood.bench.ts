/**
 * What a flood of invalid signatures costs honest miners: honest lease → submit cycles alone, then the
 * same while autocannon sends requests with garbage and with well-formed but wrong signatures (per-IP
 * limit off, the worst case: every forged request reaches signature verification).
 * Run: node --import tsx bench/flood.bench.ts [--seconds 10] [--miners 20]
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { keyFromSecret, signedHeaders } from '../src/crypto/keys.ts'
import { SimulatedMiner } from '../src/simulation/miner.ts'
import { createSqliteStore, freePort, spawnServer, waitForHealth } from '../test/load/support.ts'
import { flag, printTable, round, runCycles, writeResult } from './support.ts'

const seconds = flag('seconds', 10)
const minerCount = flag('miners', 20)

export async function benchFlood() {
  const store = createSqliteStore('sotapool-bench-')
  const server = spawnServer(
    0,
    await freePort(),
    { DATABASE_URL: store.url, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_IP_PER_MINUTE: '0' },
    join(tmpdir(), 'sotapool-bench-logs'),
  )
  try {
    await waitForHealth(server)
    const miners = await Promise.all(
      Array.from(
        { length: minerCount },
        async (_, i) => new SimulatedMiner(await keyFromSecret(`//flood-honest-${i}`), server.url, true, () => {}),
      ),
    )
    const baseline = await runCycles(miners, seconds)
    const forger = await keyFromSecret('//flood-forger')
    const victim = await keyFromSecret('//flood-victim')
    // A real signature by another key: well-formed, so the server pays a full verification to refuse it.
    const forged = {
      ...signedHeaders(forger, Math.floor(Date.now() / 1000)),
      'X-Key': victim.address,
      'content-type': 'application/json',
    }
    const flood = autocannon({
      url: `${server.url}/api/v1/tasks/lease`,
      connections: 50,
      duration: seconds,
      requests: [{ method: 'POST' }],
      headers: forged,
      body: '{}',
    })
    const during = await runCycles(miners, seconds)
    const floodResult = await flood
    return [
      { phase: 'honest miners alone', miners: minerCount, ...baseline, forged_requests_per_s: 0, slowdown: 1 },
      {
        phase: 'during the forged-signature flood',
        miners: minerCount,
        ...during,
        forged_requests_per_s: round(floodResult.requests.average),
        slowdown: round(baseline.cycles_per_s / Math.max(0.01, during.cycles_per_s), 2),
      },
    ]
  } finally {
    await server.stop()
    await store.drop()
  }
}

if (process.argv[1]?.endsWith('flood.bench.ts')) {
  const results = await benchFlood()
  printTable(`invalid-signature flood (${seconds} s each)`, results)
  writeResult('flood', { seconds, results })
}
