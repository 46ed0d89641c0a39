/**
 * The states and kinds of the pool's work, declared once: an algorithm's life (evaluating until
 * consensus decides it scored or rejected), the kinds of assignment a miner can hold, their statuses and
 * the roles of the algorithms in one. Storage (db/schema.ts) and the services import them from here.
 */

/** An algorithm is evaluated until consensus decides it: scored (with its consensus score) or rejected. */
export const ALGORITHM_STATES = ['evaluating', 'scored', 'rejected'] as const
export type AlgorithmState = (typeof ALGORITHM_STATES)[number]
/** What consensus decides. */
export type DecidedState = Exclude<AlgorithmState, 'evaluating'>

/** The kinds of the older single-purpose batches: evolve (write new algorithms) or evaluate (score some). */
export const BATCH_KINDS = ['evolve', 'evaluate'] as const
export type BatchKind = (typeof BATCH_KINDS)[number]

/** A lease (evaluate, evolve and gossip at once) or one of the batches. */
export const ASSIGNMENT_KINDS = ['lease', ...BATCH_KINDS] as const
export type AssignmentKind = (typeof ASSIGNMENT_KINDS)[number]

export const ASSIGNMENT_STATUSES = ['active', 'submitted', 'expired'] as const
export type AssignmentStatus = (typeof ASSIGNMENT_STATUSES)[number]

/**
 * `evaluate`: a slot toward the algorithm's sample (n, or more under adaptive n); `recheck`: an already decided seed-set
 * algorithm topping up a short evaluate set (its evaluation is a record and takes no slot); `seed`: shown
 * to evolve from; `gossip`: ids shown as recent work.
 */
export const ASSIGNMENT_ROLES = ['evaluate', 'recheck', 'seed', 'gossip'] as const
export type AssignmentRole = (typeof ASSIGNMENT_ROLES)[number]
