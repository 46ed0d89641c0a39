/**
 * The ceilings the pool is measured against, as a bare Fastify process:
 * - `/api/v1/tasks/lease` and `/api/v1/tasks/:id/submit_lease` only verify the sr25519 headers exactly as
 *   the pool does (SS58 decode, skew, signature) and answer a minimal lease / acceptance;
 * - `/constant` answers a constant JSON body of PROOF_BODY_BYTES.
 * Run: node --import tsx bench/ceiling-server.ts PORT [PROOF_BODY_BYTES]
 */
import Fastify from 'fastify'
import { cryptoReady, decodeHotkey, parseSignature, verifyMessage } from '../src/crypto/sr25519.ts'

const port = Number(process.argv[2])
const constantBytes = Number(process.argv[3] ?? 1500)
await cryptoReady()

const app = Fastify({ logger: false })
const verified = (headers: Record<string, string | string[] | undefined>): boolean => {
  const key = String(headers['x-key'] ?? '')
  const ts = String(headers['x-timestamp'] ?? '')
  const decoded = decodeHotkey(key)
  const signature = parseSignature(String(headers['x-signature'] ?? ''))
  if ('error' in decoded || signature === undefined || Math.abs(Number(ts) - Date.now() / 1000) > 300) return false
  return verifyMessage(decoded.publicKey, `auth:${ts}`, signature)
}

app.post('/api/v1/tasks/lease', async (request, reply) => {
  if (!verified(request.headers)) return await reply.code(401).send({ detail: 'invalid signature' })
  return {
    lease_id: 'ceiling',
    window_number: 0,
    timeout_at: '',
    evolve_budget: 0,
    task_type: 'cifar10_binary',
    evaluate_algorithms: [],
    seed_algorithms: [],
    gossip: { task_type: 'cifar10_binary', algorithm_ids: [] },
  }
})
app.post('/api/v1/tasks/:id/submit_lease', async (request, reply) => {
  if (!verified(request.headers)) return await reply.code(401).send({ detail: 'invalid signature' })
  return {
    status: 'accepted',
    lease_id: 'ceiling',
    evaluations_accepted: 0,
    evolutions_accepted: 0,
    new_algorithm_ids: [],
    window_number: 0,
  }
})
const constant = JSON.stringify({ padding: 'x'.repeat(Math.max(0, constantBytes - 16)) })
app.get('/constant/:any', async (_request, reply) => await reply.type('application/json').send(constant))
app.get('/health', async () => ({ status: 'healthy' }))

await app.listen({ host: '127.0.0.1', port })
