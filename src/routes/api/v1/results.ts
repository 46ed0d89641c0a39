/** `/api/v1/results/*`: SOTA, verified results and verification. */
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { resolveTaskType } from '../../../http/task-type.ts'
import { errors, Nullable, walletSecurity } from '../../../schemas/common.ts'
import { ResultsQuery } from '../../../schemas/results.ts'

const SotaResponse = Type.Object({
  task_type: Type.String(),
  sota_threshold: Type.Number({ description: 'Best consensus score of the task type (0 before any)' }),
  algorithm_id: Nullable(Type.Integer()),
  miner_hotkey: Nullable(Type.String()),
  window_number: Nullable(Type.Integer()),
  updated_at: Nullable(Type.String()),
})

const ResultsResponse = Type.Object({
  results: Type.Array(
    Type.Object({
      id: Type.Integer(),
      task_type: Type.String(),
      consensus_score: Type.Number(),
      miner_hotkey: Nullable(Type.String()),
      algorithm_hash: Type.String(),
      algorithm_dsl: Type.String(),
      verified_at: Nullable(Type.String()),
      verified_by: Nullable(Type.String()),
    }),
  ),
  count: Type.Integer(),
})

const VerifyResponse = Type.Object({
  status: Type.Literal('verified'),
  result_id: Type.Integer(),
  verified_at: Nullable(Type.String()),
  verified_by: Nullable(Type.String()),
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const pool = app.pool

  app.get(
    '/',
    {
      schema: {
        tags: ['results'],
        summary: 'Verified results, newest first',
        security: walletSecurity,
        querystring: ResultsQuery,
        response: { 200: ResultsResponse, ...errors(401, 422) },
      },
      preHandler: app.requireWallet,
    },
    async (request) => await pool.results.listVerified(request.query),
  )

  app.get(
    '/sota',
    {
      schema: {
        tags: ['results'],
        summary: 'Current SOTA of a task type',
        querystring: Type.Object({ task_type: Type.Optional(Type.String({ maxLength: 64 })) }),
        response: { 200: SotaResponse, ...errors(422) },
      },
    },
    async (request) =>
      await pool.results.sota(resolveTaskType(pool.config.taskTypes, request.query.task_type, 'query')),
  )

  app.post(
    '/verify/:result_id',
    {
      schema: {
        tags: ['results'],
        summary: 'Mark a scored result verified (VERIFIER_HOTKEYS only)',
        security: walletSecurity,
        params: Type.Object({ result_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
        response: { 200: VerifyResponse, ...errors(401, 403, 404, 422) },
      },
      preHandler: app.requireWallet,
    },
    async (request) => await pool.results.verify(request.miner!.hotkey, request.params.result_id),
  )
}

export default routes
