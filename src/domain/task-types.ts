/**
 * Task types: which names are valid, which one a request means, and what the miners' software knows of
 * each. The pool serves the task types of TASK_TYPES; the first is the default for a request that names
 * none.
 *
 * A record's `input_dim` is what the miners' pool client passes to the task
 * (`sample_miner_task_spec(input_dim)`: the number of projected input features, so the length of v0) and
 * to their parser (`from_dsl(text, input_dim)`, which makes it the minimum vector_dim and part of the
 * program's identity). It is a property of the task, not of the program: cifar10_binary projects
 * CIFAR-10 images onto 16 components (their DEFAULT_COMPONENTS).
 */
import { validationError } from '../errors.ts'
import { DEFAULT_INPUT_DIM } from './dsl/index.ts'

const INPUT_DIMS: ReadonlyMap<string, number> = new Map([['cifar10_binary', 16]])

/** Input dimension for a task type; task types the pool has no entry for get their client's default, 16. */
export function taskInputDim(taskType: string): number {
  return INPUT_DIMS.get(taskType) ?? DEFAULT_INPUT_DIM
}

/** A task type name: 1 to 64 of a-z, 0-9 and _. */
export const isTaskTypeName = (name: string): boolean => /^[a-z0-9_]{1,64}$/.test(name)

/** The default task type: the first the pool serves (configuration requires at least one). */
export function defaultTaskType(served: readonly string[]): string {
  return served[0]!
}

/**
 * The task type a request names, or the default when it names none. One the pool does not serve is a
 * 422 on the `task_type` field of the request's body or query; a body's refusal lists what the pool serves.
 */
export function resolveTaskType(
  served: readonly string[],
  requested: string | undefined,
  source: 'body' | 'query',
): string {
  const taskType = requested ?? defaultTaskType(served)
  if (!served.includes(taskType)) {
    const known = source === 'body' ? `; this pool serves: ${served.join(', ')}` : ''
    throw validationError([source, 'task_type'], `unknown task type "${taskType}"${known}`)
  }
  return taskType
}
