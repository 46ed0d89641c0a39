/**
 * The task type a request names, as the routes answer it: the default when it names none, and a 422 on the
 * `task_type` field of the request's body or query for one the pool does not serve (a body's refusal
 * lists what the pool serves). The rule itself is the domain's (domain/task-types.ts).
 */
import { requestedTaskType, taskTypeRefusal } from '../domain/task-types.ts'
import { validationError } from '../errors.ts'

/** Where a request names its task type. */
export type TaskTypeSource = 'body' | 'query'

/** The task type a request means, or a 422 pointing at its `task_type` field when the pool does not serve it. */
export function resolveTaskType(
  served: readonly string[],
  requested: string | undefined,
  source: TaskTypeSource,
): string {
  const taskType = requestedTaskType(served, requested)
  const refusal = taskTypeRefusal(served, taskType, source === 'body')
  if (refusal !== undefined) throw validationError([source, 'task_type'], refusal)
  return taskType
}
