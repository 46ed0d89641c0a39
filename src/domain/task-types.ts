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

/** The task type a request means: the one it names, or the default when it names none. */
export function requestedTaskType(served: readonly string[], requested: string | undefined): string {
  return requested ?? defaultTaskType(served)
}

/**
 * Why the pool refuses a task type, or undefined when it serves it. With `listServed` the refusal also
 * lists the task types the pool serves.
 */
export function taskTypeRefusal(served: readonly string[], taskType: string, listServed: boolean): string | undefined {
  if (served.includes(taskType)) return undefined
  return `unknown task type "${taskType}"${listServed ? `; this pool serves: ${served.join(', ')}` : ''}`
}
