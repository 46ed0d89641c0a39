// Numbers as the miners' software reads and writes them: decimal literals parsed to a double and
// stored as float32, written back as Python's repr of that float32 widened to a double.

/**
 * A decimal literal of the miners' grammar (`1`, `-1.`, `.5`, `+1.5e-3`, `2E+8`), ASCII digits only:
 * their regex's `\d` also matches other scripts' digits, which the pool refuses rather than guess.
 * Checked with a loop, not a regex, so a hostile 16 KiB literal costs one linear scan.
 */
export function isDecimalLiteral(text: string): boolean {
  let pos = 0
  if (text.charCodeAt(pos) === PLUS || text.charCodeAt(pos) === MINUS) pos++
  const intStart = pos
  while (isDigit(text.charCodeAt(pos))) pos++
  let digits = pos - intStart
  if (text.charCodeAt(pos) === DOT) {
    const fracStart = ++pos
    while (isDigit(text.charCodeAt(pos))) pos++
    digits += pos - fracStart
  }
  if (digits === 0) return false
  if ((text.charCodeAt(pos) | 0x20) === E_LOWER) {
    pos++
    if (text.charCodeAt(pos) === PLUS || text.charCodeAt(pos) === MINUS) pos++
    const expStart = pos
    while (isDigit(text.charCodeAt(pos))) pos++
    if (pos === expStart) return false
  }
  return pos === text.length
}

/** A string of ASCII decimal digits only (element indexes, meta values). */
export function isDigits(text: string): boolean {
  if (text.length === 0) return false
  for (let i = 0; i < text.length; i++) if (!isDigit(text.charCodeAt(i))) return false
  return true
}

/**
 * The float32 the miners store for a decimal literal: the correctly rounded double, then rounded to
 * float32 (numpy's assignment into a float32 array; Math.fround rounds the same way). Undefined when it
 * overflows float32, which their serializer would write as `inf`, a text their parser cannot read.
 */
export function toFloat32(literal: string): number | undefined {
  const value = Math.fround(Number(literal))
  return Number.isFinite(value) ? value : undefined
}

/**
 * Python's `repr` of a finite double, which is what the miners' serializer writes for a stored float32
 * (`f"{x}"` widens it): the shortest digits that read back as the same double, in positional notation
 * when the decimal exponent is from -4 to 15 (`0.0001`, `1.0`, `1234.5`), otherwise scientific with a
 * signed exponent of at least two digits (`1e-05`, `1.5e+16`). JavaScript picks the same digits but
 * switches notation at other bounds (`0.000001`, `1e21`), so only its digits are used.
 */
export function pythonRepr(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0'
  const sign = value < 0 ? '-' : ''
  const { digits, pointAt } = shortestDigits(Math.abs(value))
  // pointAt: where the decimal point falls relative to the digits (value = 0.DIGITS × 10^pointAt).
  if (pointAt > -4 && pointAt <= 16) {
    if (pointAt <= 0) return `${sign}0.${'0'.repeat(-pointAt)}${digits}`
    if (pointAt >= digits.length) return `${sign}${digits}${'0'.repeat(pointAt - digits.length)}.0`
    return `${sign}${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`
  }
  const exponent = pointAt - 1
  const mantissa = digits.length > 1 ? `${digits.charAt(0)}.${digits.slice(1)}` : digits
  const magnitude = String(Math.abs(exponent)).padStart(2, '0')
  return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${magnitude}`
}

/** Shortest round-trip significant digits of a positive finite double (from Number#toString). */
function shortestDigits(value: number): { digits: string; pointAt: number } {
  const text = String(value)
  const e = text.indexOf('e')
  const mantissa = e === -1 ? text : text.slice(0, e)
  const exponent = e === -1 ? 0 : Number(text.slice(e + 1))
  const dot = mantissa.indexOf('.')
  let digits = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1)
  let pointAt = (dot === -1 ? mantissa.length : dot) + exponent
  let lead = 0
  while (digits.charCodeAt(lead) === ZERO) lead++
  digits = digits.slice(lead)
  pointAt -= lead
  let end = digits.length
  while (end > 1 && digits.charCodeAt(end - 1) === ZERO) end--
  return { digits: digits.slice(0, end), pointAt }
}

const [PLUS, MINUS, DOT, ZERO, E_LOWER] = [43, 45, 46, 48, 101]

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57
}
