/** Records every response in the request metrics and serves `GET /metrics` in Prometheus text format. */
import fp from 'fastify-plugin'
import type { PoolMetrics } from '../metrics.ts'

export default fp(async (app, opts: { metrics: PoolMetrics }) => {
  const { metrics } = opts
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      // The route pattern, not the URL, keeps label cardinality bounded.
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    }
    metrics.requests.inc(labels)
    metrics.latency.observe(labels, reply.elapsedTime / 1000)
  })
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return await reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}, { name: 'pool-metrics' })
