/** Unit amounts are unsigned 64-bit integers (1 alpha = 10^9 units), bigint in code. */

export const U64_MAX = 2n ** 64n - 1n
/** Storage is BIGINT (signed 64-bit), so stored amounts stay below 2^63. */
export const STORED_UNITS_MAX = 2n ** 63n - 1n

/** JSON form of an amount: a number when exactly representable, else a decimal string. */
export const unitsToJson = (units: bigint): number | string =>
  units <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(units) : units.toString()

/** Reads an amount sent as a JSON integer or a decimal string; undefined when it is neither or not u64. */
export function unitsFromJson(value: unknown): bigint | undefined {
  let units: bigint
  if (typeof value === 'number' && Number.isSafeInteger(value)) units = BigInt(value)
  else if (typeof value === 'string' && /^\d{1,20}$/.test(value)) units = BigInt(value)
  else return undefined
  return units >= 0n && units <= U64_MAX ? units : undefined
}
