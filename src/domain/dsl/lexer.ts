// Tokeniser for one line of DSL text: a single forward scan over char codes,
// linear in the line length whatever the input (no regexes to backtrack).

import { DslError } from './program.ts'

export type TokenType = 'ident' | 'number' | 'punct'

export interface Token {
  type: TokenType
  text: string
}

const SINGLE_PUNCT = '=+-*/(),[]'
const [TAB, SPACE, PLUS, MINUS, DOT, GREATER] = [9, 32, 43, 45, 46, 62]

export function tokenize(text: string, line: number): Token[] {
  const tokens: Token[] = []
  let pos = 0
  while (pos < text.length) {
    const code = text.charCodeAt(pos)
    if (code === SPACE || code === TAB) {
      pos++
      continue
    }
    let type: TokenType = 'punct'
    let end = pos + 1
    if (isIdentStart(code)) {
      type = 'ident'
      end = skipWhile(text, pos, isIdentPart)
    } else if (isDigit(code) || (code === DOT && isDigit(text.charCodeAt(pos + 1)))) {
      type = 'number'
      end = scanNumber(text, pos)
    } else if (code === MINUS && text.charCodeAt(pos + 1) === GREATER) {
      end = pos + 2
    } else if (!SINGLE_PUNCT.includes(text.charAt(pos))) {
      const char = String.fromCodePoint(text.codePointAt(pos) as number)
      throw new DslError(line, `unexpected character ${JSON.stringify(char)}`)
    }
    tokens.push({ type, text: text.slice(pos, end) })
    pos = end
  }
  return tokens
}

/**
 * End of an unsigned decimal literal starting at `pos`: `12`, `1.`, `.5`, `1.5e-3`, `2E+8`.
 * The sign is a separate token so `s1 -1` still lexes as a subtraction.
 */
function scanNumber(text: string, pos: number): number {
  let end = skipWhile(text, pos, isDigit)
  if (text.charCodeAt(end) === DOT) end = skipWhile(text, end + 1, isDigit)
  if ((text.charCodeAt(end) | 0x20) === 0x65 /* e or E */) {
    const sign = text.charCodeAt(end + 1)
    const digits = sign === PLUS || sign === MINUS ? end + 2 : end + 1
    if (isDigit(text.charCodeAt(digits))) end = skipWhile(text, digits, isDigit)
  }
  return end
}

function skipWhile(text: string, pos: number, accept: (code: number) => boolean): number {
  let end = pos
  while (end < text.length && accept(text.charCodeAt(end))) end++
  return end
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57
}

function isIdentStart(code: number): boolean {
  return code === 95 /* _ */ || (code >= 65 && code <= 90) || (code >= 97 && code <= 122)
}

function isIdentPart(code: number): boolean {
  return isIdentStart(code) || isDigit(code)
}

/** Quotes a token for an error message, cut short so hostile input cannot bloat errors. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}…` : text)
}

/** A token (or the end of the line) as named in error messages. */
export function describe(token: Token | undefined): string {
  return token === undefined ? 'end of line' : quote(token.text)
}
