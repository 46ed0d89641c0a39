/**
 * Prometheus metrics: request counts and latency by route and status, and the pool's own counters.
 * Each pool context gets its own registry so several pools in one process (tests) never collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export type AuthFailureReason =
  | 'missing_header'
  | 'bad_timestamp'
  | 'stale_timestamp'
  | 'bad_address'
  | 'bad_signature'
  | 'replay'

export interface PoolMetrics {
  registry: Registry
  requests: Counter<'method' | 'route' | 'status'>
  latency: Histogram<'method' | 'route' | 'status'>
  leases: Counter<'kind'>
  submissions: Counter<'kind'>
  evaluations: Counter
  consensusDecisions: Counter<'state'>
  consensusExtensions: Counter<'reason'>
  consensusParked: Counter
  windowCloses: Counter
  epochCloses: Counter
  authFailures: Counter<'reason'>
  proofCacheLookups: Counter<'result'>
  proofCacheBytes: Gauge
}

export function createMetrics(): PoolMetrics {
  const registry = new Registry()
  // Default metric names already start with process_ or nodejs_: the prefix is only the pool's name.
  collectDefaultMetrics({ register: registry, prefix: 'sotapool_' })
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] })
  return {
    registry,
    requests: counter('sotapool_http_requests_total', 'HTTP requests by method, route and status', [
      'method',
      'route',
      'status',
    ]),
    latency: new Histogram({
      name: 'sotapool_http_request_duration_seconds',
      help: 'HTTP request latency by method, route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    leases: counter('sotapool_assignments_issued_total', 'Leases and batches issued', ['kind']),
    submissions: counter('sotapool_assignments_submitted_total', 'Leases and batches submitted', ['kind']),
    evaluations: counter('sotapool_evaluations_total', 'Evaluations accepted'),
    consensusDecisions: counter('sotapool_consensus_decisions_total', 'Algorithms decided by consensus', ['state']),
    consensusExtensions: counter(
      'sotapool_consensus_extensions_total',
      'Samples enlarged before deciding (adaptive n), by reason',
      ['reason'],
    ),
    consensusParked: counter(
      'sotapool_consensus_parked_total',
      'Full samples parked to be judged again once the weights have moved',
    ),
    windowCloses: counter('sotapool_window_closes_total', 'Windows closed by this process'),
    epochCloses: counter('sotapool_epoch_closes_total', 'Epochs closed by this process'),
    authFailures: counter('sotapool_auth_failures_total', 'Refused signed requests by reason', ['reason']),
    proofCacheLookups: counter(
      'sotapool_proof_cache_lookups_total',
      'Proof requests by how the proof cache answered: hit, miss (epoch loaded now), bypass (cache off or epoch not cacheable: database), no_leaf (database answers 404)',
      ['result'],
    ),
    proofCacheBytes: new Gauge({
      name: 'sotapool_proof_cache_bytes',
      help: 'Estimated bytes held by the proof cache (PROOF_CACHE_MB is its budget)',
      registers: [registry],
    }),
  }
}
