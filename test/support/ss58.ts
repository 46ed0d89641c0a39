/**
 * The second valid address of every prefix-42 key: SS58 allows a prefix below 64 to be written in the
 * two-byte form too (the form prefixes 64..16383 need), and checkAddress(address, 42) accepts it.
 */
import { base58Encode, blake2AsU8a, decodeAddress } from '@polkadot/util-crypto'

const SS58PRE = new TextEncoder().encode('SS58PRE')

export function twoBytePrefixSpelling(addressOrKey: string | Uint8Array, prefix = 42): string {
  const key = typeof addressOrKey === 'string' ? decodeAddress(addressOrKey) : addressOrKey
  const body = new Uint8Array([
    ((prefix & 0b1111_1100) >> 2) | 0b0100_0000,
    (prefix >> 8) | ((prefix & 0b11) << 6),
    ...key,
  ])
  const hash = blake2AsU8a(new Uint8Array([...SS58PRE, ...body]), 512)
  return base58Encode(new Uint8Array([...body, hash[0]!, hash[1]!]))
}
