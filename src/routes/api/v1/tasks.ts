/** `/api/v1/tasks/*`: leases, batches, submissions and pending evaluations. Signed routes only. */
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { defaultTaskType } from '../../../domain/task-types.ts'
import { validationError } from '../../../errors.ts'
import { submitting } from '../../../http/submission.ts'
import { resolveTaskType } from '../../../http/task-type.ts'
import { errors, walletSecurity } from '../../../schemas/common.ts'
import {
  BatchRequestBody,
  BatchResponse,
  LeaseBody,
  LeaseResponse,
  PendingResponse,
  SubmitEvaluationBody,
  SubmitEvaluationResponse,
  SubmitEvolutionBody,
  SubmitEvolutionResponse,
  SubmitLeaseBody,
  SubmitLeaseResponse,
} from '../../../schemas/work.ts'

const GOSSIP_MAX = 50

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const pool = app.pool
  app.addHook('preHandler', app.requireWallet)

  app.get(
    '/pending_evaluations',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Whether evaluations are waiting for the signing miner',
        security: walletSecurity,
        response: { 200: PendingResponse, ...errors(401) },
      },
    },
    async (request) => await pool.work.pending(request.miner!.hotkey),
  )

  app.post(
    '/lease',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Lease work: algorithms to evaluate, seeds to evolve and gossip',
        description:
          '404 means no work right now (back off and retry). 400 "Miner already has active task" while a lease or batch is active.',
        security: walletSecurity,
        body: LeaseBody,
        response: { 200: LeaseResponse, ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => {
      const body = request.body
      if (body.sim_window_number !== undefined && pool.config.environment === 'production') {
        throw validationError(['body', 'sim_window_number'], 'sim_window_number is available in development only')
      }
      return await pool.work.lease({
        miner: request.miner!.hotkey,
        taskType: resolveTaskType(pool.config.taskTypes, body.task_type, 'body'),
        evalBatchSize: body.eval_batch_size,
        seedBatchSize: body.seed_batch_size,
        gossipLimit: Math.min(GOSSIP_MAX, Math.max(0, body.gossip_limit)),
        windowNumber: body.sim_window_number ?? pool.currentWindow().windowNumber,
      })
    },
  )

  app.post(
    '/:lease_id/submit_lease',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Submit a lease: evaluations and evolutions, all or nothing',
        description: '404 "Active lease assignment not found" when the lease expired, was submitted, or is not yours.',
        security: walletSecurity,
        params: Type.Object({ lease_id: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: SubmitLeaseBody,
        response: { 200: SubmitLeaseResponse, ...errors(400, 401, 404, 422) },
      },
    },
    async (request) =>
      await submitting('lease', () =>
        pool.work.submitLease(request.miner!.hotkey, request.params.lease_id, request.body),
      ),
  )

  app.post(
    '/request',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Request an evolve or evaluate batch (older request style)',
        description:
          'Without a preference: evaluate when candidates are waiting, else evolve. 404 when nothing is available.',
        security: walletSecurity,
        body: BatchRequestBody,
        response: { 200: BatchResponse, ...errors(400, 401, 404, 422) },
      },
    },
    async (request) =>
      await pool.work.requestBatch(
        request.miner!.hotkey,
        request.body.task_type,
        defaultTaskType(pool.config.taskTypes),
      ),
  )

  app.post(
    '/:batch_id/submit_evolution',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Submit the evolved function of an evolve batch',
        security: walletSecurity,
        params: Type.Object({ batch_id: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: SubmitEvolutionBody,
        response: { 200: SubmitEvolutionResponse, ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => {
      const parents = request.body.parent_functions.map((p) => (typeof p === 'number' ? p : p.id))
      return await submitting('batch', () =>
        pool.work.submitEvolution(request.miner!.hotkey, request.params.batch_id, {
          parent_algorithm_ids: parents,
          algorithm_dsl: request.body.evolved_function,
        }),
      )
    },
  )

  app.post(
    '/:batch_id/submit_evaluation',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Submit the evaluations of an evaluate batch',
        security: walletSecurity,
        params: Type.Object({ batch_id: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: SubmitEvaluationBody,
        response: { 200: SubmitEvaluationResponse, ...errors(400, 401, 404, 422) },
      },
    },
    async (request) =>
      await submitting('batch', () =>
        pool.work.submitEvaluation(request.miner!.hotkey, request.params.batch_id, request.body.evaluations),
      ),
  )
}

export default routes
