// Cost of signed-wallet authentication: raw sr25519 verifies per second (the accepted case, a
// <Bytes>-wrapped signature, and the worst case, a bad signature that is checked both ways), then whole
// requests through app.inject() on in-memory SQLite: signed routes against unsigned routes in the same run.
// Run: node --import tsx bench/signatures.bench.ts [--seconds S]   (S per measurement, default 1.5; ~20 s total)
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { buildApp } from '../src/app.ts'
import { ManualClock } from '../src/clock.ts'
import { loadConfig } from '../src/config.ts'
import { keyFromSecret, signedHeaders } from '../src/crypto/keys.ts'
import { walletMessage } from '../src/crypto/messages.ts'
import { cryptoReady, parseSignature, verifyMessage } from '../src/crypto/sr25519.ts'
import { createPoolContext } from '../src/services/context.ts'

const secondsArg = process.argv.indexOf('--seconds')
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1.5
if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds expects a positive number')
const budgetMs = seconds * 1000

/** Runs `f` repeatedly for the time budget (after a short warm-up); returns operations per second. */
function rate(f: () => unknown): { ops: number; perSecond: number; microsEach: number } {
  const warmEnd = performance.now() + Math.min(200, budgetMs / 5)
  while (performance.now() < warmEnd) f()
  let ops = 0
  const start = performance.now()
  let now = start
  while (now - start < budgetMs) {
    f()
    ops++
    if ((ops & 15) === 0) now = performance.now()
  }
  now = performance.now()
  return { ops, perSecond: ops / ((now - start) / 1000), microsEach: ((now - start) * 1000) / ops }
}

async function rateAsync(f: () => Promise<unknown>): Promise<{ ops: number; perSecond: number; microsEach: number }> {
  const warmEnd = performance.now() + Math.min(300, budgetMs / 5)
  while (performance.now() < warmEnd) await f()
  let ops = 0
  const start = performance.now()
  while (performance.now() - start < budgetMs) {
    await f()
    ops++
  }
  const elapsed = performance.now() - start
  return { ops, perSecond: ops / (elapsed / 1000), microsEach: (elapsed * 1000) / ops }
}

interface Row {
  measurement: string
  ops: number
  perSecond: number
  microsEach: number
}
const rows: Row[] = []
const record = (measurement: string, r: { ops: number; perSecond: number; microsEach: number }): Row => {
  const row = {
    measurement,
    ops: r.ops,
    perSecond: Math.round(r.perSecond),
    microsEach: Math.round(r.microsEach * 10) / 10,
  }
  rows.push(row)
  console.log(`  ${measurement}: ${row.perSecond}/s (${row.microsEach} µs each)`)
  return row
}

await cryptoReady()
const key = await keyFromSecret('bottom drive obey lake curtain smoke basket hold race lonely fit walk')
const NOW_S = 1_700_000_000
const message = walletMessage(NOW_S)
const rawSignature = parseSignature(key.sign(message))!
const wrappedSignature = parseSignature(key.sign(`<Bytes>${message}</Bytes>`))!
const badSignature = parseSignature(key.sign(walletMessage(NOW_S + 1)))! // well-formed, signs something else
if (
  !verifyMessage(key.publicKey, message, rawSignature) ||
  !verifyMessage(key.publicKey, message, wrappedSignature) ||
  verifyMessage(key.publicKey, message, badSignature)
) {
  throw new Error('benchmark inputs do not verify as expected')
}

console.log('sr25519 verifyMessage')
const verifyRaw = record(
  'verifyMessage: valid raw signature (1 verify)',
  rate(() => verifyMessage(key.publicKey, message, rawSignature)),
)
const verifyWrapped = record(
  'verifyMessage: valid <Bytes>-wrapped signature (2 verifies)',
  rate(() => verifyMessage(key.publicKey, message, wrappedSignature)),
)
const verifyBad = record(
  'verifyMessage: bad signature, worst case (2 verifies)',
  rate(() => verifyMessage(key.publicKey, message, badSignature)),
)

console.log('requests through app.inject() on in-memory SQLite (one at a time)')
const config = loadConfig({
  DATABASE_URL: 'sqlite::memory:',
  BACKGROUND_JOBS: 'false',
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_IP_PER_MINUTE: '0',
  LOG_LEVEL: 'silent',
})
const pool = await createPoolContext(config, { clock: new ManualClock(NOW_S * 1000) })
const app: FastifyInstance = await buildApp(pool)
// A GET may repeat its signature, so one signed header set serves every signed request.
const headers = signedHeaders(key, NOW_S)
const inject = (options: InjectOptions) => async (): Promise<void> => {
  const res = await app.inject(options)
  if (res.statusCode !== 200) throw new Error(`${options.url}: ${res.statusCode} ${res.body}`)
}
await inject({ url: '/api/v1/miners/stats', headers })()
const stats = record(
  'GET /api/v1/miners/stats (signed)',
  await rateAsync(inject({ url: '/api/v1/miners/stats', headers })),
)
const leaderboard = record(
  'GET /api/v1/miners/leaderboard (unsigned)',
  await rateAsync(inject({ url: '/api/v1/miners/leaderboard' })),
)
// The same lookup signed and unsigned isolates what authentication adds to a request.
const ownRecipient = record(
  'GET /api/v1/miners/recipient-coldkey (signed)',
  await rateAsync(inject({ url: '/api/v1/miners/recipient-coldkey', headers })),
)
const publicRecipient = record(
  `GET /api/v1/miners/recipient-coldkey/{hotkey} (unsigned)`,
  await rateAsync(inject({ url: `/api/v1/miners/recipient-coldkey/${key.address}` })),
)
await app.close()
await pool.close()

const ratios = {
  signedStatsOverUnsignedLeaderboard: Math.round((stats.perSecond / leaderboard.perSecond) * 1000) / 1000,
  signedOverUnsignedRecipientLookup: Math.round((ownRecipient.perSecond / publicRecipient.perSecond) * 1000) / 1000,
  authCostMicros: Math.round((ownRecipient.microsEach - publicRecipient.microsEach) * 10) / 10,
  worstCaseOverRawVerify: Math.round((verifyBad.perSecond / verifyRaw.perSecond) * 1000) / 1000,
}

console.log('')
console.table(
  rows.map((r) => ({
    measurement: r.measurement,
    'per second': r.perSecond,
    'µs each': r.microsEach,
    operations: r.ops,
  })),
)
console.log(`signed stats / unsigned leaderboard: ${ratios.signedStatsOverUnsignedLeaderboard}`)
console.log(
  `signed / unsigned recipient lookup:  ${ratios.signedOverUnsignedRecipientLookup} (auth adds ≈ ${ratios.authCostMicros} µs per request)`,
)
console.log(`bad-signature verify / raw verify:   ${ratios.worstCaseOverRawVerify}`)

mkdirSync('bench-results', { recursive: true })
writeFileSync(
  'bench-results/signatures.json',
  `${JSON.stringify(
    {
      benchmark: 'signatures',
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      secondsPerMeasurement: seconds,
      rows,
      ratios,
      verifyWrapped: verifyWrapped.perSecond,
    },
    null,
    2,
  )}\n`,
)
console.log('wrote bench-results/signatures.json')
