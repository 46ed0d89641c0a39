/** A simulated miner with a real sr25519 key that signs every request it sends through inject(). */
export { evolvedProgram } from '../../src/simulation/programs.ts'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { keyFromSecret, signedHeaders, type MinerKey } from '../../src/crypto/keys.ts'
import type { AlgorithmRecord, LeaseResponse, SubmitLeaseResponse } from '../../src/schemas/work.ts'

export class TestMiner {
  private constructor(
    readonly key: MinerKey,
    private readonly app: FastifyInstance,
    private readonly nowS: () => number,
  ) {}

  static async create(app: FastifyInstance, secret: string): Promise<TestMiner> {
    return new TestMiner(await keyFromSecret(secret), app, () => Math.floor(app.pool.clock.now() / 1000))
  }

  /** `count` miners with distinct keys derived from a dev phrase. */
  static async many(app: FastifyInstance, count: number, prefix = 'miner'): Promise<TestMiner[]> {
    return await Promise.all(
      Array.from({ length: count }, async (_, i) => await TestMiner.create(app, `//${prefix}${i}`)),
    )
  }

  get hotkey(): string {
    return this.key.address
  }

  async send(
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    body?: unknown,
    recipient?: string,
  ): Promise<LightMyRequestResponse> {
    return await this.app.inject({
      method,
      url,
      headers: {
        ...signedHeaders(this.key, this.nowS(), recipient),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
  }

  async lease(body: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
    return await this.send('POST', '/api/v1/tasks/lease', body)
  }

  async submitLease(leaseId: string, body: unknown): Promise<LightMyRequestResponse> {
    return await this.send('POST', `/api/v1/tasks/${leaseId}/submit_lease`, body)
  }

  async setRecipient(recipient: string): Promise<LightMyRequestResponse> {
    return await this.send('PUT', '/api/v1/miners/recipient-coldkey', { recipient_coldkey: recipient }, recipient)
  }

  async requestBatch(body: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
    return await this.send('POST', '/api/v1/tasks/request', body)
  }

  async submitEvolution(batchId: string, body: unknown): Promise<LightMyRequestResponse> {
    return await this.send('POST', `/api/v1/tasks/${batchId}/submit_evolution`, body)
  }

  async submitEvaluation(batchId: string, body: unknown): Promise<LightMyRequestResponse> {
    return await this.send('POST', `/api/v1/tasks/${batchId}/submit_evaluation`, body)
  }

  async pending(): Promise<LightMyRequestResponse> {
    return await this.send('GET', '/api/v1/tasks/pending_evaluations')
  }

  async stats(): Promise<LightMyRequestResponse> {
    return await this.send('GET', '/api/v1/miners/stats')
  }

  /** Leases and returns the lease body; throws with the response when the pool does not answer 200. */
  async leaseOk(body: Record<string, unknown> = {}): Promise<LeaseBody> {
    const response = await this.lease(body)
    if (response.statusCode !== 200)
      throw new Error(`lease by ${this.hotkey} failed: ${response.statusCode} ${response.body}`)
    return response.json() as LeaseBody
  }

  /** Submits a lease and returns the body; throws with the response when the pool does not answer 200. */
  async submitLeaseOk(leaseId: string, body: unknown): Promise<SubmitBody> {
    const response = await this.submitLease(leaseId, body)
    if (response.statusCode !== 200)
      throw new Error(`submit by ${this.hotkey} failed: ${response.statusCode} ${response.body}`)
    return response.json() as SubmitBody
  }

  /**
   * One lease (evaluate set as large as allowed) on which the miner scores exactly the given algorithms and
   * optionally submits evolutions; every scored id must be in the lease's evaluate set.
   */
  async evaluate(
    scores: Record<number, number | null>,
    extra: { evolutions?: unknown[]; lease?: Record<string, unknown> } = {},
  ): Promise<{ lease: LeaseBody; submit: SubmitBody }> {
    const lease = await this.leaseOk({ eval_batch_size: 64, ...extra.lease })
    const offered = new Set(lease.evaluate_algorithms.map((a) => a.id))
    for (const id of Object.keys(scores).map(Number)) {
      if (!offered.has(id))
        throw new Error(`algorithm ${id} is not in the evaluate set of ${this.hotkey}: [${[...offered].join(', ')}]`)
    }
    const evaluations = Object.entries(scores).map(([id, score]) => ({ algorithm_id: Number(id), score }))
    const submit = await this.submitLeaseOk(lease.lease_id, { evaluations, evolutions: extra.evolutions ?? [] })
    return { lease, submit }
  }
}

/** An algorithm record as the API sends it. */
export type AlgorithmBody = AlgorithmRecord

/** A lease as the API sends it. */
export type LeaseBody = LeaseResponse

/** A lease submission's answer as the API sends it. */
export type SubmitBody = SubmitLeaseResponse

/**
 * The same program as `evolvedProgram(k)` spelled differently, as the miners' parser allows: meta keys in
 * another order, `name:` headers, a CONST arrow, comments, other spacing and number spellings.
 */
export function reformattedProgram(k: number): string {
  const rate = ((k + 1) / 100_000).toExponential()
  return [
    '# meta: vector_dim=16 matrix_count=1 vector_count=4 scalar_count=8',
    '# an evolved linear model',
    'setup:',
    `  CONST ${rate} -> s2   # learning rate`,
    '  v1 = 0.000',
    'predict:',
    '  s3=dot(v1,v0)',
    '  s0 = s3 + s4',
    'learn:',
    '  s5 = s1 - s0',
    '  s6   =   s5 * s2',
    '\tv2 = v0 * s6\r',
    '  v1 = v1 + v2',
    '  s4 = s4 + s6',
  ].join('\n')
}
