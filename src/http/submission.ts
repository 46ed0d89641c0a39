/**
 * Submission problems as 422 answers. The work service says which part of a submission is wrong (an item
 * by index and its field); each submit route names the place in its own request body, the `loc` clients
 * parse: `evolutions[i].algorithm_dsl` in a lease, `evolved_function` in an evolve batch.
 */
import { PoolError } from '../errors.ts'
import { SubmissionProblem, type SubmissionSubject } from '../services/work.ts'

/** The request shape a submission arrived in: a lease (lists of items) or a batch (one evolution inline). */
export type SubmissionShape = 'lease' | 'batch'

/** Where in the request body the subject of a submission problem is. */
export function submissionLoc(subject: SubmissionSubject, shape: SubmissionShape): Array<string | number> {
  if (!('item' in subject)) return ['body', subject.part]
  if (subject.part === 'evaluations') return ['body', 'evaluations', subject.item, subject.field]
  if (shape === 'batch') return ['body', subject.field === 'program' ? 'evolved_function' : 'parent_functions']
  return ['body', 'evolutions', subject.item, subject.field === 'program' ? 'algorithm_dsl' : 'parent_algorithm_ids']
}

/** Runs a submission, answering a problem the service reports as a 422 that points into the request. */
export async function submitting<T>(shape: SubmissionShape, submit: () => Promise<T>): Promise<T> {
  try {
    return await submit()
  } catch (err) {
    if (err instanceof SubmissionProblem)
      throw new PoolError(err.code, [{ loc: submissionLoc(err.subject, shape), msg: err.message, type: err.type }])
    throw err
  }
}
