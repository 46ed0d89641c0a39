// Types and fixed tables of the algorithm DSL. See index.ts for the language decisions.

export type Phase = 'setup' | 'predict' | 'learn'

/** Phases in execution order; also the order the canonical form prints them in. */
export const PHASES: readonly Phase[] = ['setup', 'predict', 'learn']

export interface DslMeta {
  scalar_count: number
  vector_count: number
  matrix_count: number
  vector_dim: number
  setup_max_ops: number
  predict_max_ops: number
  learn_max_ops: number
}

export type MetaKey = keyof DslMeta

/**
 * Default, minimum and maximum of every meta key, in canonical print order.
 * The maxima keep hostile headers from describing machines that no miner could
 * allocate; the minima guarantee the registers the runtime always uses exist
 * (s0 prediction, s1 label, v0 input).
 */
export const META_SPEC: ReadonlyArray<{ key: MetaKey; default: number; min: number; max: number }> = [
  { key: 'scalar_count', default: 20, min: 2, max: 1000 },
  { key: 'vector_count', default: 10, min: 1, max: 1000 },
  { key: 'matrix_count', default: 5, min: 1, max: 1000 },
  { key: 'vector_dim', default: 16, min: 1, max: 4096 },
  { key: 'setup_max_ops', default: 30, min: 1, max: 10000 },
  { key: 'predict_max_ops', default: 30, min: 1, max: 10000 },
  { key: 'learn_max_ops', default: 30, min: 1, max: 10000 },
]

export function defaultMeta(): DslMeta {
  const meta = {} as DslMeta
  for (const spec of META_SPEC) meta[spec.key] = spec.default
  return meta
}

export type RegisterKind = 's' | 'v' | 'm'

export interface Register {
  kind: RegisterKind
  index: number
}

/** A statement input: a register or a finite numeric literal. */
export type Operand = Register | number

export type BinaryOperator = '+' | '-' | '*' | '/'

export const UNARY_FUNCTIONS = ['abs', 'exp', 'log', 'sin', 'cos', 'tan', 'heaviside', 'norm', 'mean', 'std'] as const
export const BINARY_FUNCTIONS = ['dot', 'matmul', 'outer', 'minimum', 'maximum'] as const
/** Random fills: called with no arguments or with two (mean, std) / (low, high). */
export const RANDOM_FUNCTIONS = ['gaussian', 'uniform'] as const

export type FunctionName =
  | (typeof UNARY_FUNCTIONS)[number]
  | (typeof BINARY_FUNCTIONS)[number]
  | (typeof RANDOM_FUNCTIONS)[number]

export type Statement =
  | { kind: 'const'; dest: Register; value: number }
  | { kind: 'set_element'; dest: Register; index: number; value: number }
  | { kind: 'copy'; dest: Register; src: Register }
  | { kind: 'binary'; dest: Register; op: BinaryOperator; left: Operand; right: Operand }
  | { kind: 'call'; dest: Register; fn: FunctionName; args: Operand[] }

export interface DslProgram {
  meta: DslMeta
  setup: Statement[]
  predict: Statement[]
  learn: Statement[]
}

export const DSL_DEFAULT_MAX_BYTES = 16384

/** Every rejection of submitted text. `line` is 1-based, or 0 for whole-program problems. */
export class DslError extends Error {
  readonly line: number
  readonly reason: string

  constructor(line: number, reason: string) {
    super(`line ${line}: ${reason}`)
    this.name = 'DslError'
    this.line = line
    this.reason = reason
  }
}
