/**
 * Task types as the miners' software knows them. A record's `input_dim` is what their pool client passes
 * to the task (`sample_miner_task_spec(input_dim)`: the number of projected input features, so the length
 * of v0) and to their parser (`from_dsl(text, input_dim)`, which makes it the minimum vector_dim and part
 * of the program's identity). It is a property of the task, not of the program: cifar10_binary projects
 * CIFAR-10 images onto 16 components (their DEFAULT_COMPONENTS).
 */
import { DEFAULT_INPUT_DIM } from './dsl/index.ts'

const INPUT_DIMS: ReadonlyMap<string, number> = new Map([['cifar10_binary', 16]])

/** Input dimension for a task type; task types the pool has no entry for get their client's default, 16. */
export function taskInputDim(taskType: string): number {
  return INPUT_DIMS.get(taskType) ?? DEFAULT_INPUT_DIM
}
