/*
 * Algorithm DSL: validation, canonical form and hash of miner-submitted programs.
 * The pool never executes them; it only checks them and identifies duplicates.
 *
 * Decisions (why, briefly):
 * - Canonical form: `# meta:` line with ALL seven keys and resolved values (so omitted
 *   defaults and explicit defaults hash the same), then `# setup:`, `# predict:`, `# learn:`
 *   always present in that order, one `=`-form statement per line, single spaces
 *   (`d = a + b`, `d = fn(a, b)`, `vK[i] = c`), no comments, trailing newline.
 *   The hash is sha256 (lowercase hex) of that text in UTF-8.
 * - Numbers: decimal literals (`1`, `1.`, `.5`, `1.5e-3`, `1E+3`) with an optional sign;
 *   printed as the shortest JS round-trip form (`1.50`, `15e-1`, `+1.5` → `1.5`), `-0` → `0`.
 *   Literals that overflow to ±Infinity (`1e999`) and the words inf/infinity/nan are rejected.
 * - Operands: registers `sN`/`vN`/`mN` (no leading zeros, index < its count) or numeric
 *   literals, in both `+ - * /` and function arguments. No shape inference: `s0 = v1 * m2`
 *   is accepted; only grammar, register bounds, arities and caps are checked.
 * - Function arity: unary abs exp log sin cos tan heaviside norm mean std; binary dot matmul
 *   outer minimum maximum; gaussian/uniform take 0 arguments or 2 (mean, std)/(low, high),
 *   which must be numbers or scalar registers. Function names are lowercase in the `=` form.
 * - Arrow form `OP a b -> d` (mnemonic case-insensitive, operands space-separated) maps onto
 *   `=` statements: `CONST c -> d` ≡ `d = c`; `COPY a -> d` ≡ `d = a` (a register);
 *   `ADD/SUB/MUL/DIV a b -> d` ≡ `d = a + b` etc.; any function upper-cased, e.g.
 *   `DOT a b -> d` ≡ `d = dot(a, b)`, `GAUSSIAN -> d` ≡ `d = gaussian()`. Both spellings parse
 *   to the same statement, so they hash the same.
 * - `NoOp()` (any case) is accepted as a statement because `def` bodies cannot be empty, but
 *   it has no effect: it is dropped while parsing, does not count toward the op cap, and a
 *   phase of only NoOp prints as an empty phase.
 * - Headers: `#` lines whose whole text is a phase name (`# setup:`, `#Predict`) are headers,
 *   other `#` lines (`# setup phase follows`) comments. Lines ending in `:` naming a phase
 *   (`learn:`, `def Learn():`, any case) are headers, other such lines comments (as the spec
 *   says) except `def …:` lines, which must name a phase (a typo there would silently move
 *   statements). Statements before any header belong to predict; a header may reappear and
 *   its statements are appended. Indentation, blank lines, inline `# …` comments and a
 *   leading BOM are ignored.
 * - Meta: at most one `# meta:` line (`meta` in any case), before any phase header or
 *   statement (register bounds are checked as statements are read). `key=value` pairs,
 *   whitespace-separated; unknown or repeated keys are errors. Values are decimal integers:
 *   scalar_count 2..1000 (s0 and s1 are always used), vector_count 1..1000, matrix_count
 *   1..1000, vector_dim 1..4096, each op cap 1..10000, so hostile headers cannot describe
 *   absurd machines.
 * - `vK[i] = c`: K must be a vector register, i a plain integer < vector_dim, c a number.
 * - A program needs at least one statement ("program has no statements", line 0) and a
 *   non-empty predict phase, since predict computes s0 ("predict phase has no statements").
 * - Size is checked first, in UTF-8 bytes (default 16 KiB); non-strings are rejected.
 *   Every rejection is a DslError with the 1-based line (0 for whole-program problems).
 *   The lexer is linear-time (no backtracking-prone regexes).
 */

import { parseDsl, type ParseOptions } from './parser.ts'
import { hashCanonicalText, printCanonical } from './printer.ts'
import type { DslProgram } from './program.ts'

export { parseDsl, type ParseOptions } from './parser.ts'
export { canonicalHash, printCanonical } from './printer.ts'
export {
  BINARY_FUNCTIONS,
  DSL_DEFAULT_MAX_BYTES,
  DslError,
  META_SPEC,
  PHASES,
  RANDOM_FUNCTIONS,
  UNARY_FUNCTIONS,
  defaultMeta,
  type BinaryOperator,
  type DslMeta,
  type DslProgram,
  type FunctionName,
  type MetaKey,
  type Operand,
  type Phase,
  type Register,
  type RegisterKind,
  type Statement,
} from './program.ts'

export interface ValidatedAlgorithm {
  program: DslProgram
  canonical: string
  hash: string
  /** Length of the input vector v0 (= meta.vector_dim). */
  inputDim: number
}

/** Full pool-side check of a submitted algorithm; throws DslError when it is invalid. */
export function validateAlgorithm(text: string, options?: ParseOptions): ValidatedAlgorithm {
  const program = parseDsl(text, options)
  const canonical = printCanonical(program)
  return { program, canonical, hash: hashCanonicalText(canonical), inputDim: program.meta.vector_dim }
}
