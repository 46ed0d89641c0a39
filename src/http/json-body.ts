/**
 * The JSON body parser. Plain JSON, with two tolerances real clients need:
 * - Python clients serialise a failed run's score as `-Infinity` or `NaN`; in the value of a `score`
 *   key those tokens read as `null`. Anywhere else they stay malformed JSON.
 * - Integers above 2^53 − 1 (unit amounts) are read as decimal strings so no digit is lost.
 * Prototype-poisoning keys (`__proto__`, `constructor.prototype`) are removed.
 */
import secureJson from 'secure-json-parse'
import { PoolError } from '../errors.ts'

const NEEDS_REWRITE = /NaN|Infinity|\d{16}/

export function parseJsonBody (text: string): unknown {
  if (text.trim() === '') return undefined
  const source = NEEDS_REWRITE.test(text) ? rewrite(text) : text
  let parsed: unknown
  try {
    parsed = secureJson.parse(source, undefined, { protoAction: 'remove', constructorAction: 'remove' })
  } catch (err) {
    throw new PoolError('POOL_ERR_MALFORMED_JSON', `Malformed JSON body: ${(err as Error).message}`)
  }
  // A NUL character cannot be stored in PostgreSQL text and means nothing here; it can only arrive escaped.
  if (/\\u0000/i.test(text) && containsNul(parsed)) {
    throw new PoolError('POOL_ERR_MALFORMED_JSON', 'Malformed JSON body: NUL characters (\\u0000) are not allowed in strings')
  }
  return parsed
}

function containsNul (value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (Array.isArray(value)) return value.some(containsNul)
  if (value !== null && typeof value === 'object') return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v))
  return false
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9'

/** One pass over the text outside string literals; returns it with the tolerated tokens replaced. */
function rewrite (text: string): string {
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
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') { i++; continue }
    if (c === ':') { lastKey = pendingKey; previous = ':'; i++; continue }
    pendingKey = undefined
    const token = text.startsWith('-Infinity', i) ? '-Infinity' : text.startsWith('NaN', i) ? 'NaN' : undefined
    if (token !== undefined) {
      if (previous !== ':' || lastKey !== 'score') {
        throw new PoolError('POOL_ERR_MALFORMED_JSON', `Malformed JSON body: ${token} is accepted only as a score, at position ${i}`)
      }
      out += text.slice(copiedUpTo, i) + 'null'
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
        out += text.slice(copiedUpTo, i) + `"${literal}"`
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
function endOfString (text: string, start: number): number {
  let i = start + 1
  while (i < text.length) {
    const c = text[i]
    if (c === '\\') i += 2
    else if (c === '"') return i + 1
    else i++
  }
  return text.length
}
