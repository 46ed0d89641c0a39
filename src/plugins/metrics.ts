/**
 * Records every response in the request metrics and serves `GET /metrics` in Prometheus text format.
 * With METRICS_TOKEN set (required in production) a scrape must send `Authorization: Bearer <token>`.
 */
import { timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import { PoolError } from '../errors.ts'
import type { PoolMetrics } from '../metrics.ts'

function checkToken(authorization: string | undefined, token: string, production: boolean): void {
  if (token === '' && !production) return
  if (token === '')
    throw new PoolError('POOL_ERR_METRICS_TOKEN', '/metrics needs METRICS_TOKEN to be configured in production')
  const given = Buffer.from(/^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '')
  const expected = Buffer.from(token)
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new PoolError('POOL_ERR_METRICS_TOKEN')
}

export default fp(
  async (app, opts: { metrics: PoolMetrics; token: string; production: boolean }) => {
    const { metrics } = opts
    app.addHook('onResponse', (request, reply, done) => {
      const labels = {
        method: request.method,
        // The route pattern, not the URL, keeps label cardinality bounded.
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      }
      metrics.requests.inc(labels)
      metrics.latency.observe(labels, reply.elapsedTime / 1000)
      done()
    })
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      checkToken(request.headers.authorization, opts.token, opts.production)
      return await reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
    })
  },
  { name: 'pool-metrics' },
)
