/**
 * A simulated miner speaking the Pool API over real HTTP with real signatures: leases, evaluates
 * (honestly, from a hidden per-program "true" score, or dishonestly at random), evolves by nudging a
 * constant of a seed, and submits. Used by `sotapool simulate` and the load benchmarks.
 */
import { createHash } from 'node:crypto'
import { signedHeaders, type MinerKey } from '../crypto/keys.ts'
import type { AlgorithmRecord, LeaseResponse } from '../schemas/work.ts'

export interface CallRecord {
  route: 'lease' | 'submit' | 'recipient'
  status: number
  code: string | null
  ms: number
  /** Why a request got no answer at all (connection refused, DNS…), with the URL. */
  error?: string
}

/** The part of an algorithm record the simulated miner reads (without a hash, the program's digest stands in). */
export type SimAlgorithm = Pick<AlgorithmRecord, 'id' | 'algorithm_dsl'> &
  Partial<Pick<AlgorithmRecord, 'algorithm_hash'>>

/** The part of a lease answer the simulated miner reads. */
type LeaseReply = Pick<LeaseResponse, 'lease_id' | 'evolve_budget' | 'evaluate_algorithms' | 'seed_algorithms'>

/** The score an honest evaluator reports: a fixed function of the program, plus tiny noise. */
export function trueScore(algorithm: SimAlgorithm): number {
  const digest = algorithm.algorithm_hash ?? createHash('sha256').update(algorithm.algorithm_dsl).digest('hex')
  return 0.4 + (Number.parseInt(digest.slice(0, 8), 16) / 0xffff_ffff) * 0.5
}

/** A new program from a seed: its first numeric constant nudged, so the canonical form differs. */
export function mutate(dsl: string, random: () => number = Math.random): string | undefined {
  const lines = dsl.split('\n')
  const index = lines.findIndex((l) => /^\s*[sv]\d+\s*=\s*-?\d+(\.\d+)?\s*(#.*)?$/.test(l))
  if (index < 0) return undefined
  lines[index] = lines[index]!.replace(/=\s*-?\d+(\.\d+)?/, `= ${(random() * 2 - 1).toFixed(6)}`)
  return lines.join('\n')
}

export class SimulatedMiner {
  constructor(
    readonly key: MinerKey,
    private readonly baseUrl: string,
    readonly honest: boolean,
    private readonly record: (call: CallRecord) => void,
    private readonly evolveProbability = 0.5,
  ) {}

  /** One signed request; `json` is the body as `T` when the status is 200, else whatever JSON came back (or null). */
  private async call<T = unknown>(
    route: CallRecord['route'],
    method: string,
    path: string,
    body: unknown,
    recipient?: string,
  ): Promise<{ status: number; json: T }> {
    const started = performance.now()
    let status = 0
    let json: unknown = null
    let error: string | undefined
    try {
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...signedHeaders(this.key, Math.floor(Date.now() / 1000), recipient),
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      })
      status = response.status
      json = await response.json().catch(() => null)
    } catch (err) {
      status = 0
      const cause = (err as { cause?: { message?: string; code?: string } }).cause
      error = `${method} ${this.baseUrl}${path}: ${cause?.message ?? cause?.code ?? (err as Error).message}`
    }
    this.record({
      route,
      status,
      code:
        status === 200
          ? null
          : ((json as { code?: string } | null)?.code ?? (status === 0 ? 'NETWORK_ERROR' : `HTTP_${status}`)),
      ms: performance.now() - started,
      ...(error === undefined ? {} : { error }),
    })
    return { status, json: json as T }
  }

  async setRecipient(recipient: string): Promise<boolean> {
    return (
      (
        await this.call(
          'recipient',
          'PUT',
          '/api/v1/miners/recipient-coldkey',
          { recipient_coldkey: recipient },
          recipient,
        )
      ).status === 200
    )
  }

  /** One lease → submit cycle; returns false when there was no work (the caller backs off). */
  async cycle(): Promise<boolean> {
    const lease = await this.call<LeaseReply>('lease', 'POST', '/api/v1/tasks/lease', { gossip_limit: 5 })
    if (lease.status !== 200) return false
    const evaluations = lease.json.evaluate_algorithms.map((a) => ({
      algorithm_id: a.id,
      score: this.honest ? Math.min(1, trueScore(a) + (Math.random() - 0.5) * 0.004) : Math.random(),
    }))
    const evolutions: Array<{ parent_algorithm_ids: number[]; algorithm_dsl: string }> = []
    const seeds = lease.json.seed_algorithms
    if (lease.json.evolve_budget > 0 && seeds.length > 0 && Math.random() < this.evolveProbability) {
      const parent = seeds[Math.floor(Math.random() * seeds.length)]!
      const dsl = mutate(parent.algorithm_dsl)
      if (dsl !== undefined) evolutions.push({ parent_algorithm_ids: [parent.id], algorithm_dsl: dsl })
    }
    await this.call('submit', 'POST', `/api/v1/tasks/${lease.json.lease_id}/submit_lease`, {
      evaluations,
      evolutions,
      iterations: 1,
    })
    return true
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
