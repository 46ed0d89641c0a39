/**
 * The JSON body parser. Plain JSON, with two tolerances real clients need:
 * - Python clients serialise a failed run's score as `-Infinity` or `NaN`; in the value of a `score`
 *   key those tokens read as `null`. Anywhere else they stay malformed JSON.
 * - Integers above 2^53 − 1 (unit amounts) are read as decimal strings so no digit is lost.
 * Prototype-poisoning keys (`__proto__`, `constructor.prototype`) are removed. Nesting deeper than
 * MAX_JSON_DEPTH is refused before parsing: no request of the API nests more than a few levels, and every
 * later walk over the value stays cheap.
 */
import secureJson from 'secure-json-parse'
import { PoolError } from '../errors.ts'

const NEEDS_REWRITE = /NaN|Infinity|\d{16}/
export const MAX_JSON_DEPTH = 64

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined
  const depth = nestingDepth(text)
  if (depth > MAX_JSON_DEPTH) {
    throw new PoolError(
      'POOL_ERR_MALFORMED_JSON',
      `Malformed JSON body: nested deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`,
    )
  }
  const source = NEEDS_REWRITE.test(text) ? rewrite(text) : text
  let parsed: unknown
  try {
    parsed = secureJson.parse(source, undefined, { protoAction: 'remove', constructorAction: 'remove' })
  } catch (err) {
    throw new PoolError('POOL_ERR_MALFORMED_JSON', `Malformed JSON body: ${(err as Error).message}`)
  }
  // A NUL character cannot be stored in PostgreSQL text and means nothing here; it can only arrive escaped.
  if (/\\u0000/i.test(text) && containsNul(parsed)) {
    throw new PoolError(
      'POOL_ERR_MALFORMED_JSON',
      'Malformed JSON body: NUL characters (\\u0000) are not allowed in strings',
    )
  }
  return parsed
}

/** Deepest nesting of arrays and objects outside string literals, in one pass without recursion. */
function nestingDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (c === '"') {
      i = endOfString(text, i)
      continue
    }
    if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth)
    else if (c === ']' || c === '}') depth--
    i++
  }
  return deepest
}

/** True when any string (value or key) holds a NUL character; iterative, so no depth can overflow it. */
function containsNul(root: unknown): boolean {
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push(item)
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k.includes('\u0000')) return true
        stack.push(v)
      }
    }
  }
  return false
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9'

/** One pass over the text outside string literals; returns it with the tolerated tokens replaced. */
function rewrite(text: string): string {
  let out = ''
  let copiedUpTo = 0
  let lastKey: string | undefined
  let pendingKey: string | undefined
  let previous = '' // last significant character outside strings
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === '"') {
      const end = endOfString(text, i)
      pendingKey = text.slice(i + 1, end - 1)
      previous = '"'
      i = end
      continue
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
      i++
      continue
    }
    if (c === ':') {
      lastKey = pendingKey
      previous = ':'
      i++
      continue
    }
    pendingKey = undefined
    const token = text.startsWith('-Infinity', i) ? '-Infinity' : text.startsWith('NaN', i) ? 'NaN' : undefined
    if (token !== undefined) {
      if (previous !== ':' || lastKey !== 'score') {
        throw new PoolError(
          'POOL_ERR_MALFORMED_JSON',
          `Malformed JSON body: ${token} is accepted only as a score, at position ${i}`,
        )
      }
      out += `${text.slice(copiedUpTo, i)}null`
      i += token.length
      copiedUpTo = i
      previous = 'l'
      continue
    }
    if (isDigit(c) || (c === '-' && isDigit(text[i + 1]))) {
      let j = i + 1
      while (j < text.length && /[0-9.eE+-]/.test(text[j] as string)) j++
      const literal = text.slice(i, j)
      if (/^-?\d+$/.test(literal) && !Number.isSafeInteger(Number(literal))) {
        out += `${text.slice(copiedUpTo, i)}"${literal}"`
        copiedUpTo = j
      }
      previous = '0'
      i = j
      continue
    }
    previous = c
    i++
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo)
}

/** Index just past the closing quote of the string starting at `start` (or the end of the text). */
function endOfString(text: string, start: number): number {
  let i = start + 1
  while (i < text.length) {
    const c = text[i]
    if (c === '\\') i += 2
    else if (c === '"') return i + 1
    else i++
  }
  return text.length
}
