/** `GET /health` and `GET /status`: one report, 503 when degraded. */
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BLOCK_SOURCES } from '../domain/tempo.ts'
import { OneOf } from '../schemas/common.ts'
import { healthReport } from '../services/health.ts'

const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded')]),
  window_number: Type.Integer(),
  current_block: Type.Integer(),
  time_remaining_s: Type.Integer(),
  tempo: Type.Object({
    window_blocks: Type.Integer(),
    window_start_block: Type.Integer(),
    window_end_block: Type.Integer(),
    block_time_s: Type.Integer(),
    epoch_windows: Type.Integer(),
    source: OneOf(BLOCK_SOURCES),
    chain_connected: Type.Boolean(),
    last_block_at: Type.Union([Type.String(), Type.Null()]),
  }),
  epoch: Type.Object({
    current: Type.Integer(),
    last_closed: Type.Union([Type.Integer(), Type.Null()]),
    overdue: Type.Array(Type.Integer(), {
      description: 'Epochs ready for more than 5 minutes and still not closed (the pool is degraded meanwhile)',
    }),
  }),
  database: Type.Object({ ok: Type.Boolean(), dialect: Type.String() }),
  onchain_runtime: Type.Object({
    enabled: Type.Boolean(),
    contract_status: Type.Object({
      active_veto_count: Type.Integer(),
      is_veto_active: Type.Boolean(),
      claim_ready: Type.Boolean(),
      read_error: Type.Union([Type.String(), Type.Null()]),
    }),
    proof_api: Type.Object({ enabled: Type.Boolean() }),
    accounts: Type.Object({ publisher: Type.Union([Type.String(), Type.Null()]) }),
    processes: Type.Array(Type.Object({ name: Type.String(), running: Type.Boolean() })),
    verifier_diagnostics: Type.Object({ verifier_count: Type.Integer() }),
  }),
  version: Type.String(),
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  for (const url of ['/health', '/status']) {
    app.get(
      url,
      {
        schema: {
          tags: ['health'],
          summary:
            url === '/health' ? 'Pool health, tempo, epochs and on-chain runtime status' : 'Same report as /health',
          response: {
            200: HealthResponse,
            503: {
              ...HealthResponse,
              description: 'Degraded: database unreachable, chain silent for 5 minutes, or an epoch overdue',
            },
          },
        },
      },
      async (_request, reply) => {
        const report = await healthReport(app.pool)
        return await reply.code(report.healthy ? 200 : 503).send(report.body)
      },
    )
  }
}

export default routes
