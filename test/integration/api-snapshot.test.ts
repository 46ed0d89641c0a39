/**
 * What clients see, pinned: the OpenAPI document and the responses of one scripted session (every route
 * family, successes and errors) must stay byte-identical to the committed snapshots in test/fixtures/, on
 * both stores. A refactor that changes a field, an order, a number's spelling or an error text fails here.
 * Lease and batch ids are random UUIDs: they are replaced by `<uuid:N>` in order of first appearance; the
 * health route's store name reads `<store>`, so one snapshot holds for both.
 * After a deliberate change to what clients see, rewrite the snapshots with UPDATE_SNAPSHOTS=1 and review
 * the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { keyFromSecret } from '../../src/crypto/keys.ts'
import { startTestPool, type TestPool } from '../support/pool.ts'
import { TestMiner, evolvedProgram } from '../support/miner.ts'
import { closeThrough } from '../support/epochs.ts'

const OPENAPI_SNAPSHOT = new URL('../fixtures/openapi.snapshot.json', import.meta.url)
const TRANSCRIPT_SNAPSHOT = new URL('../fixtures/api-transcript.snapshot.json', import.meta.url)
const UPDATE = process.env.UPDATE_SNAPSHOTS === '1'

interface Exchange {
  request: string
  status: number
  type: string
  body: string
}

/** Compares with the snapshot file, or writes it when UPDATE_SNAPSHOTS=1. */
function matchesSnapshot(file: URL, actual: string): void {
  if (UPDATE) {
    writeFileSync(file, actual)
    return
  }
  assert.equal(actual, readFileSync(file, 'utf8'))
}

/** Records every exchange with random UUIDs numbered in order of appearance. */
class Transcript {
  readonly exchanges: Exchange[] = []
  private readonly uuids = new Map<string, string>()
  private lastBody = ''

  record(request: string, response: { statusCode: number; headers: Record<string, unknown>; body: string }): void {
    this.lastBody = response.body
    this.exchanges.push({
      request: this.normalize(request),
      status: response.statusCode,
      type: String(response.headers['content-type'] ?? ''),
      body: this.normalize(response.body),
    })
  }

  private normalize(text: string): string {
    return text
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (uuid) => {
        let name = this.uuids.get(uuid)
        if (name === undefined) {
          name = `<uuid:${this.uuids.size + 1}>`
          this.uuids.set(uuid, name)
        }
        return name
      })
      .replace(/"dialect":"(sqlite|postgres)"/g, '"dialect":"<store>"')
  }

  /** The last response as sent (real ids), for the next request. */
  lastJson(): any {
    return JSON.parse(this.lastBody)
  }

  toString(): string {
    return `${JSON.stringify(this.exchanges, null, 1)}\n`
  }
}

describe('what clients see', () => {
  it('the OpenAPI document is byte-identical to its snapshot', async () => {
    const t = await startTestPool()
    try {
      const response = await t.app.inject({ method: 'GET', url: '/openapi.json' })
      assert.equal(response.statusCode, 200)
      matchesSnapshot(OPENAPI_SNAPSHOT, `${JSON.stringify(JSON.parse(response.body), null, 1)}\n`)
    } finally {
      await t.close()
    }
  })

  it('a scripted session over every route family answers byte-identically to its snapshot', async () => {
    const verifier = (await keyFromSecret('//snapshot0')).address
    const t: TestPool = await startTestPool({ MERKLE_CLAIM_SIMULATION_ENABLED: 'true', VERIFIER_HOTKEYS: verifier })
    try {
      const log = new Transcript()
      const [a, b, c] = await TestMiner.many(t.app, 3, 'snapshot')
      assert.equal(a!.hotkey, verifier)
      const recipient = (await keyFromSecret('//snapshot-recipient')).address
      const pub = async (method: 'GET' | 'POST', url: string, body?: unknown): Promise<void> => {
        log.record(
          `${method} ${url}`,
          await t.app.inject({ method, url, ...(body === undefined ? {} : { payload: body as object }) }),
        )
      }
      const signed = async (
        miner: TestMiner,
        method: 'GET' | 'POST' | 'PUT',
        url: string,
        body?: unknown,
        recipientKey?: string,
      ): Promise<void> => {
        log.record(`${method} ${url} (signed)`, await miner.send(method, url, body, recipientKey))
      }

      await pub('GET', '/health')
      await pub('GET', '/api/v1/disclaimer')
      await pub('GET', '/api/v1/disclaimer.md')
      await pub('GET', '/disclaimer.md')
      await pub('GET', '/api/v1/miners/stats')
      for (const miner of [a!, b!, c!]) await signed(miner, 'POST', '/api/v1/miners/register', {})
      await signed(a!, 'PUT', '/api/v1/miners/recipient-coldkey', { recipient_coldkey: recipient }, recipient)
      await signed(b!, 'POST', '/api/v1/miners/coldkey_address/update', { coldkey_address: recipient }, recipient)
      await signed(c!, 'POST', '/coldkey_address/update', { recipient_coldkey: 'not-an-address' }, 'not-an-address')
      await signed(a!, 'GET', '/api/v1/miners/recipient-coldkey')
      await pub('GET', `/api/v1/miners/recipient-coldkey/${a!.hotkey}`)
      await pub('GET', `/api/v1/miners/recipient-coldkey/${c!.hotkey}`)

      // Leases: every miner scores what it is given; the first also evolves a seed.
      await signed(a!, 'POST', '/api/v1/tasks/lease', { eval_batch_size: 64, seed_batch_size: 2, gossip_limit: 5 })
      const leaseA = log.lastJson()
      await signed(b!, 'POST', '/api/v1/tasks/lease', { eval_batch_size: 64 })
      const leaseB = log.lastJson()
      await signed(c!, 'POST', '/api/v1/tasks/lease', { eval_batch_size: 64 })
      const leaseC = log.lastJson()
      await signed(a!, 'POST', '/api/v1/tasks/lease', {})
      const scores = (lease: any, score: number): unknown[] =>
        lease.evaluate_algorithms.map((x: { id: number }) => ({ algorithm_id: x.id, score }))
      const seedId = leaseA.seed_algorithms[0].id
      await signed(a!, 'POST', `/api/v1/tasks/${leaseA.lease_id}/submit_lease`, {
        evaluations: scores(leaseA, 0.5),
        evolutions: [{ algorithm_dsl: evolvedProgram(1), parent_algorithm_ids: [seedId] }],
      })
      await signed(b!, 'POST', `/api/v1/tasks/${leaseB.lease_id}/submit_lease`, {
        evaluations: scores(leaseB, 0.5),
        evolutions: [],
      })
      await signed(c!, 'POST', `/api/v1/tasks/${leaseC.lease_id}/submit_lease`, {
        evaluations: scores(leaseC, 0.9),
        evolutions: [],
      })
      await signed(c!, 'POST', `/api/v1/tasks/${leaseC.lease_id}/submit_lease`, { evaluations: [], evolutions: [] })
      await signed(b!, 'POST', '/api/v1/tasks/lease', { eval_batch_size: 'many' })
      await signed(b!, 'POST', '/api/v1/tasks/no-such-lease/submit_lease', { evaluations: [] })

      // Batches: evolve and evaluate.
      await signed(b!, 'POST', '/api/v1/tasks/request', { task_type: 'evolve' })
      const batch = log.lastJson()
      if (batch.batch_id === undefined) {
        // no evolve work: nothing to submit
      } else if (batch.task_type === 'evolve') {
        await signed(b!, 'POST', `/api/v1/tasks/${batch.batch_id}/submit_evolution`, {
          evolved_function: evolvedProgram(2),
          parent_functions: [batch.algorithms[0].id],
        })
      } else {
        await signed(b!, 'POST', `/api/v1/tasks/${batch.batch_id}/submit_evaluation`, {
          evaluations: batch.algorithms.map((x: { id: number }) => ({ algorithm_id: x.id, score: 0.5 })),
        })
      }
      await signed(c!, 'POST', '/api/v1/tasks/request', { task_type: 'evaluate' })
      const second = log.lastJson()
      await signed(c!, 'GET', '/api/v1/tasks/pending_evaluations')
      if (second.batch_id !== undefined) {
        await signed(c!, 'POST', `/api/v1/tasks/${second.batch_id}/submit_evaluation`, {
          evaluations: [{ algorithm_id: 999_999, score: 0.5 }],
        })
      }
      await signed(a!, 'POST', '/api/v1/tasks/request', { task_type: 'mine' })

      // What miners and the public read.
      for (const miner of [a!, b!, c!]) await signed(miner, 'GET', '/api/v1/miners/stats')
      await pub('GET', '/api/v1/miners/leaderboard')
      await pub('GET', '/api/v1/miners/leaderboard?limit=2')
      await signed(a!, 'GET', '/api/v1/results/')
      await signed(a!, 'GET', '/api/v1/results/?limit=2&min_score=0.1')
      await pub('GET', '/api/v1/results/sota')
      await pub('GET', '/api/v1/results/sota?task_type=cifar10_binary')
      await pub('GET', '/api/v1/results/sota/history')
      await signed(a!, 'POST', '/api/v1/results/verify/1', {})
      await signed(a!, 'POST', '/api/v1/results/verify/999999', {})
      await pub('GET', '/api/v1/monitor/summary')

      // Unsigned and badly signed requests.
      await pub('POST', '/api/v1/tasks/lease', {})
      log.record(
        'POST /api/v1/tasks/lease (stale timestamp)',
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/tasks/lease',
          headers: { 'x-key': a!.hotkey, 'x-timestamp': '1', 'x-signature': '00'.repeat(64) },
          payload: {},
        }),
      )

      // The epoch closes; the claim app serves it.
      await closeThrough(t, 0)
      await pub('GET', '/health')
      await pub('GET', '/claims/health')
      await pub('GET', '/claims/epochs')
      await pub('GET', '/claims/epoch')
      await pub('GET', '/claims/epoch/0')
      await pub('GET', '/claims/epoch/7')
      await pub('GET', `/claims/epoch/proof/${a!.hotkey}`)
      const proof = log.lastJson()
      await pub('GET', `/claims/epoch/claim/${a!.hotkey}`)
      await pub('GET', `/claims/epoch/0/proof/${b!.hotkey}`)
      await pub('GET', `/claims/epoch/0/claim/${c!.hotkey}`)
      await pub('GET', '/claims/epoch/0/proof/not-a-key')
      if (proof.proof !== undefined) {
        await pub('POST', '/claims/epoch/claim', {
          index: proof.index,
          hotkey: proof.hotkey,
          recipient_coldkey: proof.recipient_coldkey,
          amount_units: proof.amount_units,
          proof: proof.proof,
        })
        await pub('POST', '/claims/epoch/0/claim', {
          index: proof.index,
          hotkey: proof.hotkey,
          recipient_coldkey: proof.recipient_coldkey,
          amount_units: proof.amount_units,
          proof: proof.proof,
        })
      }
      await pub('POST', '/claims/epoch/0/claim', {
        index: 0,
        hotkey: a!.hotkey,
        recipient_coldkey: recipient,
        amount_units: '1',
        proof: [],
      })
      await pub('GET', '/claims/ledger')
      await pub('GET', '/claims/ledger/0')
      await pub('GET', '/claims/epoch/0/artifact')
      for (const miner of [a!, b!]) await signed(miner, 'GET', '/api/v1/miners/stats')
      await pub('GET', '/api/v1/monitor/summary')

      // Refusals whose texts and locations clients read.
      await signed(a!, 'POST', '/api/v1/tasks/lease', { task_type: 'no_such_task' })
      await signed(a!, 'GET', '/api/v1/results/?task_type=no_such_task&limit=0')
      await pub('GET', '/api/v1/results/sota?task_type=no_such_task')
      await pub('GET', '/api/v1/results/sota/history?task_type=no_such_task')
      await pub('GET', '/api/v1/results/sota/history?limit=0')
      await pub('GET', '/api/v1/results/sota/history?limit=2')
      const claim = {
        index: 0,
        hotkey: a!.hotkey,
        recipient_coldkey: recipient,
        amount_units: '1',
        proof: [] as string[],
      }
      await pub('POST', '/claims/epoch/0/claim', { ...claim, hotkey: 'not-a-key' })
      await pub('POST', '/claims/epoch/0/claim', { ...claim, recipient_coldkey: 'not-a-key' })
      await pub('POST', '/claims/epoch/0/claim', { ...claim, amount_units: '18446744073709551616' })
      await pub('POST', '/claims/epoch/0/claim', { ...claim, proof: ['0x12'] })
      await pub('POST', '/claims/epoch/0/claim', { ...claim, proof: undefined })
      await signed(c!, 'POST', '/api/v1/tasks/lease', { eval_batch_size: 64 })
      const refused = log.lastJson()
      const someId = refused.evaluate_algorithms?.[0]?.id ?? refused.seed_algorithms[0].id
      const leaseUrl = `/api/v1/tasks/${refused.lease_id}/submit_lease`
      await signed(c!, 'POST', leaseUrl, { evaluations: [{ algorithm_id: 999_999, score: 0.5 }], evolutions: [] })
      await signed(c!, 'POST', leaseUrl, {
        evaluations: [],
        evolutions: [{ algorithm_dsl: 'not a program', parent_algorithm_ids: [someId] }],
      })
      await signed(c!, 'POST', leaseUrl, {
        evaluations: [],
        evolutions: [{ algorithm_dsl: evolvedProgram(3), parent_algorithm_ids: [999_999] }],
      })
      await signed(c!, 'POST', leaseUrl, {
        evaluations: [],
        evolutions: [
          { algorithm_dsl: evolvedProgram(4), parent_algorithm_ids: [someId] },
          { algorithm_dsl: evolvedProgram(5), parent_algorithm_ids: [someId] },
        ],
      })
      await signed(c!, 'POST', leaseUrl, { evaluations: [], evolutions: [], iterations: 0 })
      await signed(c!, 'POST', leaseUrl, { evaluations: [], evolutions: [] })
      await signed(c!, 'POST', '/api/v1/tasks/request', { task_type: 'evolve' })
      const evolveBatch = log.lastJson()
      if (evolveBatch.batch_id !== undefined) {
        const batchUrl = `/api/v1/tasks/${evolveBatch.batch_id}/submit_evolution`
        await signed(c!, 'POST', batchUrl, { evolved_function: 'not a program', parent_functions: [someId] })
        await signed(c!, 'POST', batchUrl, { evolved_function: evolvedProgram(6), parent_functions: [999_999] })
      }

      assert.ok(log.exchanges.length > 60, `the session made ${log.exchanges.length} requests`)
      assert.ok(log.exchanges.some((e) => e.status === 200) && log.exchanges.some((e) => e.status >= 400))
      matchesSnapshot(TRANSCRIPT_SNAPSHOT, log.toString())
    } finally {
      await t.close()
    }
  })
})
