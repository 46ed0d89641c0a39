/**
 * `GET /api/v1/results/sota/history`: how the SOTA of a task type grew. One point per scored algorithm in
 * decision order (decided_at, then id), each with its own score and the running best up to it; `limit`
 * keeps the newest points, whose running best still counts every earlier algorithm.
 */
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { resolveTaskType } from '../../../http/task-type.ts'
import { errors } from '../../../schemas/common.ts'

const SotaHistoryResponse = Type.Object({
  task_type: Type.String(),
  points: Type.Array(
    Type.Object({
      window_number: Type.Integer({ description: 'Window in which the algorithm was decided' }),
      decided_at: Type.String({ description: 'UTC time of the consensus decision, ISO 8601' }),
      consensus_score: Type.Number(),
      algorithm_id: Type.Integer(),
      sota: Type.Number({ description: 'Best consensus score of the task type up to and including this point' }),
    }),
  ),
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const pool = app.pool

  app.get(
    '/sota/history',
    {
      schema: {
        tags: ['results'],
        summary: 'SOTA over time: every scored algorithm in decision order with the running best',
        querystring: Type.Object({
          task_type: Type.Optional(Type.String({ maxLength: 64 })),
          limit: Type.Integer({ minimum: 1, maximum: 5000, default: 500, description: 'Newest points to return' }),
        }),
        response: { 200: SotaHistoryResponse, ...errors(422) },
      },
    },
    async (request) => {
      const taskType = resolveTaskType(pool.config.taskTypes, request.query.task_type, 'query')
      return await pool.results.sotaHistory(taskType, request.query.limit)
    },
  )
}

export default routes
