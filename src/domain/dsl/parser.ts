// Program-level parsing: size limit, line classification (blank, comment, meta,
// phase header, statement), meta values, op caps. Statement grammar lives in statement.ts.

import { describe, quote, tokenize, type Token } from './lexer.ts'
import {
  DSL_DEFAULT_MAX_BYTES,
  DslError,
  META_SPEC,
  PHASES,
  defaultMeta,
  type DslMeta,
  type DslProgram,
  type MetaKey,
  type Phase,
  type Statement,
} from './program.ts'
import { parseStatement } from './statement.ts'

export interface ParseOptions {
  maxBytes?: number
}

const META_PREFIX = /^meta[ \t]*:/i
const DEF_HEADER = /^def[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*\([ \t]*\)[ \t]*:$/
const CAP_KEY: Readonly<Record<Phase, MetaKey>> = {
  setup: 'setup_max_ops',
  predict: 'predict_max_ops',
  learn: 'learn_max_ops',
}
const BOM = '\uFEFF'

export function parseDsl(text: string, options?: ParseOptions): DslProgram {
  if (typeof text !== 'string') throw new DslError(0, 'program must be a string')
  checkSize(text, options?.maxBytes ?? DSL_DEFAULT_MAX_BYTES)
  // Editors on some platforms prepend a byte-order mark; it is not part of the program.
  const body = text.startsWith(BOM) ? text.slice(1) : text
  const builder = new ProgramBuilder()
  // Splitting on \n alone is enough: addLine trims, which drops the \r of CRLF endings.
  body.split('\n').forEach((raw, i) => builder.addLine(raw, i + 1))
  return builder.finish()
}

function checkSize(text: string, maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`)
  }
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > maxBytes) throw new DslError(0, `program is ${bytes} bytes, over the limit of ${maxBytes} bytes`)
}

/** Text before an inline `#` comment. */
function stripComment(text: string): string {
  const hash = text.indexOf('#')
  return hash === -1 ? text : text.slice(0, hash)
}

/** The phase a header names (`setup`, `Predict:`), case-insensitively, if any. */
function namedPhase(text: string): Phase | undefined {
  const name = (text.endsWith(':') ? text.slice(0, -1).trimEnd() : text).toLowerCase()
  return PHASES.find((phase) => phase === name)
}

class ProgramBuilder {
  private meta: DslMeta = defaultMeta()
  private metaLine = 0
  /** Once a header or statement is seen the meta can no longer change: bounds were checked against it. */
  private bodyStarted = false
  /** Statements before any header belong to predict. */
  private phase: Phase = 'predict'
  private readonly statements: Record<Phase, Statement[]> = { setup: [], predict: [], learn: [] }

  addLine(raw: string, line: number): void {
    const trimmed = raw.trim()
    if (trimmed === '') return
    if (trimmed.startsWith('#')) return this.addHashLine(stripComment(trimmed.slice(1)).trim(), line)
    const code = stripComment(trimmed).trimEnd()
    if (code.endsWith(':')) return this.addColonLine(code, line)
    this.addStatement(code, line)
  }

  finish(): DslProgram {
    const { setup, predict, learn } = this.statements
    if (setup.length + predict.length + learn.length === 0) throw new DslError(0, 'program has no statements')
    if (predict.length === 0) throw new DslError(0, 'predict phase has no statements')
    return { meta: this.meta, setup, predict, learn }
  }

  /** `# meta: …`, `# <phase>[:]`, or a comment. */
  private addHashLine(content: string, line: number): void {
    const meta = META_PREFIX.exec(content)
    if (meta !== null) return this.setMeta(content.slice(meta[0].length), line)
    const phase = namedPhase(content)
    if (phase !== undefined) this.startPhase(phase)
  }

  /**
   * A line ending in `:` is a phase header (`predict:`, `def Predict():`) or, per the spec, a
   * comment. A `def` line must name a phase: silently ignoring `def Lern():` would move its
   * statements into the previous phase.
   */
  private addColonLine(code: string, line: number): void {
    const phase = namedPhase(DEF_HEADER.exec(code)?.[1] ?? code)
    if (phase !== undefined) return this.startPhase(phase)
    if (/^def[ \t]/.test(code)) {
      throw new DslError(line, 'def header must be one of def Setup():, def Predict():, def Learn():')
    }
  }

  private startPhase(phase: Phase): void {
    this.phase = phase
    this.bodyStarted = true
  }

  private addStatement(code: string, line: number): void {
    this.bodyStarted = true
    const statement = parseStatement(tokenize(code, line), line, this.meta)
    if (statement === null) return
    const list = this.statements[this.phase]
    list.push(statement)
    const capKey = CAP_KEY[this.phase]
    const cap = this.meta[capKey]
    if (list.length > cap) throw new DslError(line, `${this.phase} phase exceeds ${capKey}=${cap}`)
  }

  private setMeta(body: string, line: number): void {
    if (this.metaLine !== 0) throw new DslError(line, `duplicate meta line (first on line ${this.metaLine})`)
    if (this.bodyStarted) throw new DslError(line, 'meta line must come before phase headers and statements')
    this.metaLine = line
    this.meta = parseMetaPairs(tokenize(body, line), line)
  }
}

/** `key=value` pairs separated by whitespace; unspecified keys keep their defaults. */
function parseMetaPairs(tokens: Token[], line: number): DslMeta {
  const meta = defaultMeta()
  const seen = new Set<MetaKey>()
  for (let i = 0; i < tokens.length; i += 3) {
    const [keyToken, eq, valueToken] = [tokens[i] as Token, tokens[i + 1], tokens[i + 2]]
    const spec = META_SPEC.find((s) => s.key === keyToken.text)
    if (keyToken.type !== 'ident') throw new DslError(line, `expected a meta key, got ${describe(keyToken)}`)
    if (spec === undefined) throw new DslError(line, `unknown meta key ${quote(keyToken.text)}`)
    if (seen.has(spec.key)) throw new DslError(line, `duplicate meta key ${spec.key}`)
    if (eq?.text !== '=') throw new DslError(line, `expected "=" after meta key ${spec.key}`)
    const value = valueToken?.type === 'number' && /^[0-9]+$/.test(valueToken.text) ? Number(valueToken.text) : NaN
    if (!(value >= spec.min && value <= spec.max)) {
      throw new DslError(
        line,
        `meta ${spec.key} must be an integer from ${spec.min} to ${spec.max}, got ${describe(valueToken)}`,
      )
    }
    seen.add(spec.key)
    meta[spec.key] = value
  }
  return meta
}
