// Program-level reading, as the miners' parser does it (BitSota `DSLParser.from_dsl`): lines, comments,
// phase headers, the meta line, instruction slots per phase. Statement grammar lives in statement.ts.

import { isDigits } from './numbers.ts'
import {
  CAP_KEY,
  DSL_DEFAULT_MAX_BYTES,
  DslError,
  MAX_INPUT_DIM,
  META_KEYS,
  META_SPEC,
  PHASES,
  type DslMeta,
  type DslProgram,
  type Instruction,
  type MetaKey,
  type Phase,
} from './program.ts'
import { parseStatement, quote } from './statement.ts'

export interface ParseOptions {
  /** Input dimension of the task the program is read for (see taskInputDim). */
  inputDim?: number
  maxBytes?: number
}

/** What the miners' pool client assumes when a record carries no input_dim. */
export const DEFAULT_INPUT_DIM = 16

const DEF_HEADER = /^def[ \t]+([A-Za-z]+)[ \t]*\([ \t]*\)[ \t]*:$/
const PLAIN_HEADER = /^([A-Za-z]+)[ \t]*:$/
const NEAR_META = /^#[ \t]*meta[ \t]*:/i
/** Characters Python's str.splitlines() breaks lines at, besides \n and \r\n. */
const LINE_BREAKS = new Set([0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029])

interface StatementLine {
  line: number
  code: string
  phase: Phase
}

export function parseDsl(text: string, options?: ParseOptions): DslProgram {
  if (typeof text !== 'string') throw new DslError(0, 'program must be a string')
  const inputDim = options?.inputDim ?? DEFAULT_INPUT_DIM
  if (!Number.isSafeInteger(inputDim) || inputDim < 1 || inputDim > MAX_INPUT_DIM) {
    throw new RangeError(`inputDim must be an integer from 1 to ${MAX_INPUT_DIM}, got ${inputDim}`)
  }
  checkSize(text, options?.maxBytes ?? DSL_DEFAULT_MAX_BYTES)

  const reading = new LineReading()
  let start = 0
  for (let line = 1; start <= text.length; line++) {
    const newline = text.indexOf('\n', start)
    const end = newline === -1 ? text.length : newline
    // \r\n is one line break for the miners' parser too; a lone \r is refused by checkCharacters.
    const raw = end > start && text.charCodeAt(end - 1) === 0x0d ? text.slice(start, end - 1) : text.slice(start, end)
    reading.add(raw, line)
    start = end + 1
  }
  return reading.finish(inputDim)
}

function checkSize(text: string, maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`)
  }
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > maxBytes) throw new DslError(0, `program is ${bytes} bytes, over the limit of ${maxBytes} bytes`)
}

/**
 * Refuses characters the miners' parser would read differently from what a reader sees: line breaks other
 * than \n and \r\n (Python splits lines at them), other control characters, and anything outside
 * printable ASCII before a comment (their patterns' `\d` and `\s` also match other scripts' digits and
 * blanks). Comments may hold any other text.
 */
function checkCharacters(raw: string, line: number): void {
  let inComment = false
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i)
    if (code === 0x23 /* # */) inComment = true
    if (code === 0x09 || (code >= 0x20 && code <= 0x7e)) continue
    if (LINE_BREAKS.has(code)) {
      throw new DslError(
        line,
        `unusual line break U+${hex(code)}: the miners' parser starts a new line there; use \\n or \\r\\n`,
      )
    }
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) throw new DslError(line, `control character U+${hex(code)}`)
    if (inComment) continue
    if (code === 0xfeff)
      throw new DslError(line, "byte-order mark: the miners' parser reads it as part of the first line")
    const char = String.fromCodePoint(raw.codePointAt(i) as number)
    throw new DslError(
      line,
      `unexpected character ${JSON.stringify(char)} (U+${hex(char.codePointAt(0) as number)}) outside a comment`,
    )
  }
}

/** Strips spaces and tabs at both ends with plain loops: `/[ \t]+$/` backtracks quadratically on long blank runs. */
function trimBlanks(text: string): string {
  let start = 0
  let end = text.length
  while (start < end && isBlank(text.charCodeAt(start))) start++
  while (end > start && isBlank(text.charCodeAt(end - 1))) end--
  return text.slice(start, end)
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09
}

function isMetaSeparator(code: number): boolean {
  return isBlank(code) || code === 0x2c /* , */
}

function hex(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, '0')
}

/**
 * Their rule for phases: a line that starts with `#` or ends with `:` switches to the first of setup,
 * predict, learn that it contains anywhere, in any case (`# learn: SGD step`, `#SETUP`, and even a meta
 * line naming `setup_max_ops` switch phase), and is otherwise ignored.
 */
function phaseNamedIn(text: string): Phase | undefined {
  const lower = text.toLowerCase()
  return PHASES.find((phase) => lower.includes(phase))
}

class LineReading {
  private phase: Phase = 'predict'
  private readonly statements: StatementLine[] = []
  private readonly lineCount: Record<Phase, number> = { setup: 0, predict: 0, learn: 0 }
  private declared: Partial<Record<MetaKey, number>> = {}
  private metaLine = 0

  add(raw: string, line: number): void {
    checkCharacters(raw, line)
    const trimmed = trimBlanks(raw)
    if (trimmed === '') return
    if (trimmed.startsWith('#')) {
      this.addHashLine(trimmed, line)
      return
    }
    const hash = trimmed.indexOf('#')
    const code = hash === -1 ? trimmed : trimBlanks(trimmed.slice(0, hash))
    if (code.endsWith(':')) {
      this.addHeader(code, line)
      return
    }
    this.lineCount[this.phase]++
    this.statements.push({ line, code, phase: this.phase })
  }

  finish(inputDim: number): DslProgram {
    const meta = this.resolveMeta(inputDim)
    const program: DslProgram = {
      input_dim: inputDim,
      meta,
      caps: { setup: 0, predict: 0, learn: 0 },
      setup: [],
      predict: [],
      learn: [],
    }
    for (const phase of PHASES) {
      // Their parser sizes each phase to its declared (or default) slots, grown to the lines it holds.
      const declared = this.declared[CAP_KEY[phase]] ?? (META_SPEC[CAP_KEY[phase]].default as number)
      program.caps[phase] = Math.max(declared, this.lineCount[phase])
    }
    for (const { line, code, phase } of this.statements) {
      const instruction: Instruction | null = parseStatement(code, line, meta)
      if (instruction !== null) program[phase].push(instruction)
    }
    if (PHASES.every((phase) => program[phase].length === 0)) throw new DslError(0, 'program has no instructions')
    return program
  }

  private addHashLine(trimmed: string, line: number): void {
    if (trimmed.slice(0, 7).toLowerCase() === '# meta:') this.setMeta(trimmed.slice(7), line)
    else if (NEAR_META.test(trimmed)) {
      throw new DslError(
        line,
        'the miners\' parser reads a meta line only when it starts with "# meta:" (one space); this one would be ignored',
      )
    }
    this.switchPhase(trimmed)
  }

  /** Outside comments only the plain forms count as headers; anything else ending in `:` would be silently dropped. */
  private addHeader(code: string, line: number): void {
    const name = (DEF_HEADER.exec(code) ?? PLAIN_HEADER.exec(code))?.[1]?.toLowerCase()
    if (name === undefined || !PHASES.includes(name as Phase)) {
      throw new DslError(
        line,
        `${quote(code)}: a line ending in ":" is a phase header for the miners' parser; write def Setup():, setup: or # setup: (or setup/predict/learn)`,
      )
    }
    this.switchPhase(code)
  }

  private switchPhase(text: string): void {
    this.phase = phaseNamedIn(text) ?? this.phase
  }

  /** `key=value` entries separated by blanks or commas, as their parser splits them. */
  private setMeta(payload: string, line: number): void {
    if (this.metaLine !== 0) throw new DslError(line, `second meta line (the first is line ${this.metaLine})`)
    this.metaLine = line
    // Entry by entry, not split(): a hostile meta line must not become a huge array first.
    for (let pos = 0; pos < payload.length; ) {
      while (pos < payload.length && isMetaSeparator(payload.charCodeAt(pos))) pos++
      const start = pos
      while (pos < payload.length && !isMetaSeparator(payload.charCodeAt(pos))) pos++
      const entry = payload.slice(start, pos)
      if (entry === '') continue
      const eq = entry.indexOf('=')
      if (eq === -1) throw new DslError(line, `meta entries are key=value, got ${quote(entry)}`)
      const key = entry.slice(0, eq)
      const value = entry.slice(eq + 1)
      if (!(META_KEYS as readonly string[]).includes(key)) {
        throw new DslError(line, `unknown meta key ${quote(key)} (known: ${META_KEYS.join(', ')})`)
      }
      const spec = META_SPEC[key as MetaKey]
      if (this.declared[key as MetaKey] !== undefined) throw new DslError(line, `meta key ${key} is given twice`)
      const number = isDigits(value) ? Number(value) : Number.NaN
      if (!(number >= spec.min && number <= spec.max)) {
        throw new DslError(line, `meta ${key} must be an integer from ${spec.min} to ${spec.max}, got ${quote(value)}`)
      }
      this.declared[key as MetaKey] = number
    }
  }

  private resolveMeta(inputDim: number): DslMeta {
    const count = (key: 'scalar_count' | 'vector_count' | 'matrix_count'): number =>
      this.declared[key] ?? (META_SPEC[key].default as number)
    const vectorDim = this.declared.vector_dim
    return {
      scalar_count: count('scalar_count'),
      vector_count: count('vector_count'),
      matrix_count: count('matrix_count'),
      // Their parser never lets vectors be shorter than the task's input.
      vector_dim: vectorDim === undefined ? inputDim : Math.max(vectorDim, inputDim),
    }
  }
}
