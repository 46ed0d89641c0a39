/** A simulated miner with a real sr25519 key that signs every request it sends through inject(). */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { keyFromSecret, signedHeaders, type MinerKey } from '../../src/crypto/keys.ts'

export class TestMiner {
  private constructor (readonly key: MinerKey, private readonly app: FastifyInstance, private readonly nowS: () => number) {}

  static async create (app: FastifyInstance, secret: string): Promise<TestMiner> {
    return new TestMiner(await keyFromSecret(secret), app, () => Math.floor(app.pool.clock.now() / 1000))
  }

  /** `count` miners with distinct keys derived from a dev phrase. */
  static async many (app: FastifyInstance, count: number, prefix = 'miner'): Promise<TestMiner[]> {
    return await Promise.all(Array.from({ length: count }, async (_, i) => await TestMiner.create(app, `//${prefix}${i}`)))
  }

  get hotkey (): string { return this.key.address }

  async send (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, recipient?: string): Promise<LightMyRequestResponse> {
    return await this.app.inject({
      method,
      url,
      headers: { ...signedHeaders(this.key, this.nowS(), recipient), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
  }

  async lease (body: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
    return await this.send('POST', '/api/v1/tasks/lease', body)
  }

  async submitLease (leaseId: string, body: unknown): Promise<LightMyRequestResponse> {
    return await this.send('POST', `/api/v1/tasks/${leaseId}/submit_lease`, body)
  }

  async setRecipient (recipient: string): Promise<LightMyRequestResponse> {
    return await this.send('PUT', '/api/v1/miners/recipient-coldkey', { recipient_coldkey: recipient }, recipient)
  }
}
