/*
 * Algorithm DSL: validation, canonical form and identity of miner-submitted programs, read exactly as
 * the miners' own software reads them. The pool never executes programs.
 *
 * The reference is BitSota's parser and serializer (`AlveusLabs/SN94-BitSota`, `core/dsl_parser.py` and
 * `core/algorithm_array.py` at 56c65bf2): `DSLParser.from_dsl(text, input_dim, strict=True)` followed by
 * `AlgorithmArray.validate_addresses()`. `test/fixtures/dsl-upstream.json` holds texts that their
 * serializer wrote (current and older format) and respellings, each with their parser's reading.
 *
 * Decisions (why, briefly):
 * - Reading = theirs. A text the pool accepts yields, instruction for instruction, the array their parser
 *   builds: op codes, operand addresses (scalars from 0, vectors from 20, matrices from 30), float32
 *   constants, register counts, vector_dim = max(meta vector_dim, task input dim), and instruction slots
 *   per phase = max(declared or 30, lines in the phase). Phase headers follow their rule: any line that
 *   starts with `#` switches to the first of setup/predict/learn it names (`# learn: SGD step` is a learn
 *   header, a meta line naming setup_max_ops switches to setup); statements before any header are predict.
 * - Where their parser is lenient in ways that drop tokens or change meaning, the pool refuses with the
 *   line and a reason instead of guessing: trailing tokens after `a op b`, extra or empty call arguments,
 *   literal operands, arrow operations other than `CONST <number> -> d` (they drop the operands of the
 *   rest), heaviside's ignored second argument unless it is 1.0, non-ASCII digits and blanks, line breaks
 *   other than \n and \r\n, control characters, uppercase register and function names, registers past
 *   their counts or past the address bank of their kind (s20 would be v0), near-miss meta lines they
 *   ignore (`#meta:`), unknown or repeated meta keys, non-integer meta values, lines ending in `:` that are
 *   not plain headers (they would be dropped), constants that overflow float32, and ops their serializer
 *   never writes (`add(…)`, `min(…)`, `const(…)`).
 * - Canonical form = the text their current serializer writes for the reading (printer.ts), including
 *   Python's float repr of float32 constants (`0.10000000149011612`, `1e-05`). That is what the pool stores
 *   and serves; it re-reads to the same program.
 * - Identity = their fingerprint (identity.ts): `algorithm_hash` is the SHA-256 of exactly the bytes their
 *   SHA-1 fingerprint hashes, so `0.1` and `0.10000000149011612`, `dot(m0, v0)` and `matmul(m0, v0)`,
 *   `gaussian()` and `gaussian(0, 1)`, `heaviside(x)` and `heaviside(x, 1.0)` are one program, and caps,
 *   comments and layout never matter. The task's input dimension is part of it, as in theirs.
 * - A program with no instruction at all is refused ("program has no instructions"); an empty phase
 *   (`NoOp()`) is fine.
 * - Size is checked first, in UTF-8 bytes (default 16 KiB). Every rejection is a DslError with the 1-based
 *   line (0 for whole-program problems). Reading is linear in the text: no backtracking regexes.
 */

import { programHash } from './identity.ts'
import { parseDsl, type ParseOptions } from './parser.ts'
import { printCanonical } from './printer.ts'
import type { DslProgram } from './program.ts'

export { identityBytes, programHash } from './identity.ts'
export { pythonRepr } from './numbers.ts'
export { DEFAULT_INPUT_DIM, parseDsl, type ParseOptions } from './parser.ts'
export { printCanonical, printInstruction } from './printer.ts'
export {
  ADDR_MATRICES,
  ADDR_SCALARS,
  ADDR_VECTORS,
  DSL_DEFAULT_MAX_BYTES,
  DslError,
  MAX_INPUT_DIM,
  META_KEYS,
  META_SPEC,
  OPCODES,
  PHASES,
  UNUSED,
  registerName,
  type DslMeta,
  type DslProgram,
  type Instruction,
  type MetaKey,
  type OpName,
  type Phase,
  type PhaseCaps,
} from './program.ts'
export { FUNCTION_NAMES } from './statement.ts'

export interface ValidatedAlgorithm {
  program: DslProgram
  /** The text the miners' serializer writes for the program: what the pool stores and serves. */
  canonical: string
  /** SHA-256 of the miners' program identity. */
  hash: string
  /** The task input dimension the program was read for. */
  inputDim: number
}

/** Full pool-side check of a submitted algorithm; throws DslError when it is invalid. */
export function validateAlgorithm(text: string, options?: ParseOptions): ValidatedAlgorithm {
  const program = parseDsl(text, options)
  return { program, canonical: printCanonical(program), hash: programHash(program), inputDim: program.input_dim }
}
