/** `GET /api/v1/monitor/summary`: open in development unless MONITOR_TOKEN is set; token required in production. */
import { timingSafeEqual } from 'node:crypto'
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { PoolError } from '../../../errors.ts'
import { errors, Units } from '../../../schemas/common.ts'
import { AwaitingRecipient } from '../../../schemas/monitor.ts'
import { monitorSummary } from '../../../services/monitor.ts'

const Counts = Type.Object({ evaluating: Type.Integer(), scored: Type.Integer(), rejected: Type.Integer() })

const SummaryResponse = Type.Object({
  generated_at: Type.String(),
  window: Type.Object({ number: Type.Integer(), time_remaining_s: Type.Integer() }),
  leases: Type.Object({
    issued_last_15m: Type.Integer(),
    completed_last_15m: Type.Integer(),
    expired_last_15m: Type.Integer(),
    zero_evaluation_ratio: Type.Number(),
    active: Type.Integer(),
    overdue_active: Type.Integer(),
  }),
  miners: Type.Object({ total: Type.Integer(), active_last_hour: Type.Integer() }),
  algorithms: Type.Record(Type.String(), Counts),
  sota: Type.Record(Type.String(), Type.Number()),
  epochs: Type.Object({
    current: Type.Integer(),
    last_closed: Type.Union([Type.Integer(), Type.Null()]),
    pending_close: Type.Array(Type.Integer()),
  }),
  credit: Type.Union([
    Type.Null(),
    Type.Object({
      epoch: Type.Integer({ description: 'The last closed epoch.' }),
      budget_units: Units,
      epoch_units: Units,
      fee_units: Units,
      undistributed_units: Units,
      awaiting_recipient: AwaitingRecipient,
    }),
  ]),
  alerts: Type.Object({
    overall: Type.Union([Type.Literal('ok'), Type.Literal('warn'), Type.Literal('critical')]),
    counts: Type.Object({ critical: Type.Integer(), warn: Type.Integer() }),
    items: Type.Array(Type.Object({ code: Type.String(), severity: Type.String(), message: Type.String() })),
  }),
})

const sameToken = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app.pool
  app.get(
    '/summary',
    {
      schema: {
        tags: ['monitor'],
        summary: 'Lease pipeline, miners, algorithms, SOTA, epochs and alerts',
        security: [{ MonitorToken: [] }],
        response: { 200: SummaryResponse, ...errors(401) },
      },
      preHandler: async (request) => {
        if (config.monitorToken === '' && config.environment !== 'production') return
        if (config.monitorToken === '')
          throw new PoolError(
            'POOL_ERR_MONITOR_TOKEN',
            'the monitor summary needs MONITOR_TOKEN to be configured in production',
          )
        const given = request.headers['x-monitor-token']
        if (typeof given !== 'string' || !sameToken(given, config.monitorToken))
          throw new PoolError('POOL_ERR_MONITOR_TOKEN')
      },
    },
    async () => await monitorSummary(app.pool),
  )
}

export default routes
