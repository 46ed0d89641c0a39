// Types and fixed tables of the algorithm DSL, laid out as the miners' software holds a program
// (BitSota `core/algorithm_array.py`). See index.ts for the language decisions.

export type Phase = 'setup' | 'predict' | 'learn'

/** Phases in execution order; also the order the miners' serializer writes them in. */
export const PHASES: readonly Phase[] = ['setup', 'predict', 'learn']

/**
 * The operations of the miners' op table, with their numeric codes (the codes are part of a program's
 * identity). The pool never produces NOOP instructions: `NoOp()` lines add none, as in their parser.
 */
export const OPCODES = {
  NOOP: 0,
  CONST: 1,
  CONST_VEC: 2,
  ADD: 3,
  SUB: 4,
  MUL: 5,
  DIV: 6,
  ABS: 7,
  EXP: 8,
  LOG: 9,
  SIN: 10,
  COS: 11,
  TAN: 12,
  HEAVISIDE: 13,
  GAUSSIAN: 14,
  UNIFORM: 15,
  DOT: 16,
  MATMUL: 17,
  OUTER: 18,
  NORM: 19,
  MEAN: 20,
  STD: 21,
  COPY: 22,
  MIN: 23,
  MAX: 24,
} as const

export type OpName = keyof typeof OPCODES

/**
 * Register addresses as the miners number them: scalars from 0, vectors from 20, matrices from 30,
 * whatever the counts in the meta line. A scalar index of 20 or more would therefore name a vector,
 * and a vector index of 10 or more a matrix.
 */
export const ADDR_SCALARS = 0
export const ADDR_VECTORS = 20
export const ADDR_MATRICES = 30

/** No operand: the value the miners store in unused operand slots. */
export const UNUSED = -1

export type RegisterKind = 's' | 'v' | 'm'

/** One instruction exactly as the miners' program array holds it. */
export interface Instruction {
  op: OpName
  /** First operand address, or UNUSED. */
  in1: number
  /** Second operand address, or UNUSED. */
  in2: number
  /** Destination address. */
  out: number
  /** float32 constants: CONST value; CONST_VEC index and value; GAUSSIAN/UNIFORM parameters; else 0. */
  const1: number
  const2: number
}

/** Register file sizes; `vector_dim` is the effective one (never below the task's input dimension). */
export interface DslMeta {
  scalar_count: number
  vector_count: number
  matrix_count: number
  vector_dim: number
}

export type MetaCountKey = keyof DslMeta

/** Instruction slots per phase, as the miners' parser sizes them (at least the phase's line count). */
export type PhaseCaps = Record<Phase, number>

export interface DslProgram {
  /** Input dimension of the task the program was read for; part of the miners' program identity. */
  input_dim: number
  meta: DslMeta
  caps: PhaseCaps
  setup: Instruction[]
  predict: Instruction[]
  learn: Instruction[]
}

/** Meta keys the miners' serializer writes, in its order. */
export const META_KEYS = [
  'scalar_count',
  'vector_count',
  'matrix_count',
  'vector_dim',
  'setup_max_ops',
  'predict_max_ops',
  'learn_max_ops',
] as const

export type MetaKey = (typeof META_KEYS)[number]

/**
 * Default and accepted range of every meta key. Defaults are the miners' (vector_dim defaults to the
 * task's input dimension, so it has none here). The maxima keep hostile headers from describing machines
 * no miner could allocate; the minima keep the registers the miners' runtime always uses (s0 prediction,
 * s1 label, v0 input), and a phase at least the one slot its `NoOp()` line takes when it is written back.
 */
export const META_SPEC: Readonly<Record<MetaKey, { default?: number; min: number; max: number }>> = {
  scalar_count: { default: 20, min: 2, max: 1000 },
  vector_count: { default: 10, min: 1, max: 1000 },
  matrix_count: { default: 5, min: 0, max: 1000 },
  vector_dim: { min: 1, max: 4096 },
  setup_max_ops: { default: 30, min: 1, max: 10000 },
  predict_max_ops: { default: 30, min: 1, max: 10000 },
  learn_max_ops: { default: 30, min: 1, max: 10000 },
}

export const CAP_KEY: Readonly<Record<Phase, MetaKey>> = {
  setup: 'setup_max_ops',
  predict: 'predict_max_ops',
  learn: 'learn_max_ops',
}

export const DSL_DEFAULT_MAX_BYTES = 16384

/** Largest task input dimension the pool hands out (the largest vector_dim it accepts). */
export const MAX_INPUT_DIM = META_SPEC.vector_dim.max

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

/** The register an address names (`s3`, `v0`, `m1`), as the miners' serializer spells it. */
export function registerName(address: number): string {
  if (address < ADDR_VECTORS) return `s${address - ADDR_SCALARS}`
  if (address < ADDR_MATRICES) return `v${address - ADDR_VECTORS}`
  return `m${address - ADDR_MATRICES}`
}
