/** Schemas of algorithms, leases, batches and submissions, and the types derived from them. */
import { Type, type Static } from 'typebox'
import { BATCH_KINDS } from '../domain/work.ts'
import { OneOf } from './common.ts'

export const AlgorithmRecord = Type.Object(
  {
    id: Type.Integer(),
    algorithm_dsl: Type.String({
      description: "The program exactly as the miners' serializer (DSLParser.to_dsl) writes it",
    }),
    input_dim: Type.Integer({
      description:
        "Input dimension of the task type (16 for cifar10_binary): what the miners' client passes to the task and to from_dsl",
    }),
    task_type: Type.String(),
    status: Type.String({ description: 'evaluating, scored or rejected' }),
    score: Type.Union([Type.Number(), Type.Null()], { description: 'Consensus score once scored' }),
    parent_ids: Type.Array(Type.Integer()),
    miner_hotkey: Type.Union([Type.String(), Type.Null()], { description: 'Author; null for built-in seeds' }),
    algorithm_hash: Type.String({
      description: "SHA-256 of the miners' program identity (the bytes of AlgorithmArray.fingerprint)",
    }),
  },
  { $id: 'AlgorithmRecord' },
)
/** An algorithm as sent to miners (client fields first; extra fields are allowed by clients). */
export type AlgorithmRecord = Static<typeof AlgorithmRecord>

const algorithmRef = Type.Unsafe<AlgorithmRecord>({ $ref: 'AlgorithmRecord#' })

export const Score = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
  description: 'Score in [0, 1], or null when the algorithm failed to run (-Infinity and NaN are read as null).',
})

export const Evaluation = Type.Object(
  {
    algorithm_id: Type.Integer({ minimum: 1 }),
    score: Score,
  },
  { additionalProperties: true },
)
export type Evaluation = Static<typeof Evaluation>

export const Evolution = Type.Object(
  {
    parent_algorithm_ids: Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 64 }),
    algorithm_dsl: Type.String({
      description:
        "The evolved program in the miners' DSL, at most DSL_MAX_BYTES; stored and served as their serializer writes it",
    }),
  },
  { additionalProperties: true },
)
export type Evolution = Static<typeof Evolution>

export const LeaseBody = Type.Object(
  {
    task_type: Type.Optional(Type.String({ description: 'Task type (default: the first of TASK_TYPES)' })),
    eval_batch_size: Type.Integer({ minimum: 2, maximum: 64, default: 8 }),
    seed_batch_size: Type.Integer({ minimum: 2, maximum: 64, default: 8 }),
    gossip_limit: Type.Integer({ default: 0, description: 'Clamped to 0..50' }),
    sim_window_number: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Development only: act in this window',
      }),
    ),
  },
  { additionalProperties: true },
)

export const LeaseResponse = Type.Object({
  lease_id: Type.String(),
  window_number: Type.Integer(),
  timeout_at: Type.String(),
  evolve_budget: Type.Integer(),
  task_type: Type.String(),
  evaluate_algorithms: Type.Array(algorithmRef),
  seed_algorithms: Type.Array(algorithmRef),
  gossip: Type.Object({ task_type: Type.String(), algorithm_ids: Type.Array(Type.Integer()) }),
})
export type LeaseResponse = Static<typeof LeaseResponse>

export const SubmitLeaseBody = Type.Object(
  {
    evaluations: Type.Array(Evaluation, { default: [], maxItems: 256 }),
    evolutions: Type.Array(Evolution, { default: [], maxItems: 64 }),
    gossip: Type.Optional(Type.Unknown()),
    iterations: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: true },
)
export type SubmitLeaseBody = Static<typeof SubmitLeaseBody>

export const SubmitLeaseResponse = Type.Object({
  status: Type.Literal('accepted'),
  lease_id: Type.String(),
  evaluations_accepted: Type.Integer(),
  evolutions_accepted: Type.Integer(),
  new_algorithm_ids: Type.Array(Type.Integer()),
  window_number: Type.Integer(),
})
export type SubmitLeaseResponse = Static<typeof SubmitLeaseResponse>

export const BatchRequestBody = Type.Object(
  {
    task_type: Type.Optional(OneOf(BATCH_KINDS, { description: 'Kind of work wanted' })),
  },
  { additionalProperties: true },
)

export const BatchResponse = Type.Object({
  batch_id: Type.String(),
  task_type: OneOf(BATCH_KINDS),
  algorithms: Type.Array(algorithmRef),
  timeout_at: Type.String(),
  window_number: Type.Integer(),
})
export type BatchResponse = Static<typeof BatchResponse>

export const SubmitEvolutionBody = Type.Object(
  {
    evolved_function: Type.String(),
    parent_functions: Type.Array(
      Type.Union([
        Type.Integer({ minimum: 1 }),
        Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: true }),
      ]),
      { minItems: 1, maxItems: 64 },
    ),
  },
  { additionalProperties: true },
)

export const SubmitEvolutionResponse = Type.Object({
  status: Type.Literal('accepted'),
  batch_id: Type.String(),
  algorithm_id: Type.Integer(),
  new_algorithm_ids: Type.Array(Type.Integer()),
  window_number: Type.Integer(),
})
export type SubmitEvolutionResponse = Static<typeof SubmitEvolutionResponse>

export const SubmitEvaluationBody = Type.Object(
  {
    evaluations: Type.Array(Evaluation, { maxItems: 256 }),
    evaluation_metrics: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: true },
)

export const SubmitEvaluationResponse = Type.Object({
  status: Type.Literal('accepted'),
  batch_id: Type.String(),
  evaluations_accepted: Type.Integer(),
  window_number: Type.Integer(),
})
export type SubmitEvaluationResponse = Static<typeof SubmitEvaluationResponse>

export const PendingResponse = Type.Object({
  has_pending_evaluations: Type.Boolean(),
  pending_count: Type.Integer(),
  active_assignment: Type.Union([
    Type.Object({ id: Type.String(), kind: Type.String(), timeout_at: Type.String() }),
    Type.Null(),
  ]),
})
export type PendingResponse = Static<typeof PendingResponse>
