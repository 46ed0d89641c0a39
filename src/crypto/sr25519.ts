/**
 * The one place that touches sr25519 and SS58 (polkadot-js). Verification runs in WebAssembly; it can
 * throw on bytes that are not a curve point, which is reported as "does not verify", never as a crash.
 */
import { sr25519Verify, waitReady } from '@polkadot/wasm-crypto'
import { checkAddress, decodeAddress, encodeAddress } from '@polkadot/util-crypto'
import { signedForms } from './messages.ts'

export const SS58_PREFIX = 42

let ready: Promise<void> | undefined

/** Loads the WebAssembly once; every verification awaits this before its first use. */
export async function cryptoReady(): Promise<void> {
  ready ??= waitReady().then((ok) => {
    if (!ok) throw new Error('sr25519 WebAssembly failed to load')
  })
  await ready
}

// Every signed request decodes its X-Key, and base58 plus the checksum cost about as much as a fifth of
// an sr25519 verify; miners repeat their hotkey, so valid decodings are kept (bounded, cleared when full).
const DECODED_CACHE_LIMIT = 10_000
const decoded = new Map<string, Uint8Array>()

/**
 * The public key behind any SS58 spelling of a prefix-42 address, or why it is not one. SS58 lets a
 * prefix below 64 be written with one byte or with two, so one key has more than one valid address;
 * only `decodeHotkey` decides which spelling the pool accepts.
 */
export function decodeAnySpelling(address: string): { publicKey: Uint8Array } | { error: string } {
  if (
    typeof address !== 'string' ||
    address.length < 40 ||
    address.length > 60 ||
    !/^[1-9A-HJ-NP-Za-km-z]+$/.test(address)
  ) {
    return { error: 'not an SS58 address' }
  }
  const [valid, reason] = checkAddress(address, SS58_PREFIX)
  if (!valid) return { error: reason ?? 'invalid SS58 address' }
  const publicKey = decodeAddress(address)
  if (publicKey.length !== 32) return { error: 'not a 32-byte account key' }
  return { publicKey }
}

/**
 * Decodes the canonical SS58 address of a key (prefix 42 in its one-byte form, what `encodeHotkey`
 * gives) to its 32-byte public key, or says why it is not one. Any other spelling of a valid key is
 * refused with the canonical address to use, so one key is always one miner.
 */
export function decodeHotkey(address: string): { publicKey: Uint8Array } | { error: string; canonical?: string } {
  const known = typeof address === 'string' ? decoded.get(address) : undefined
  if (known !== undefined) return { publicKey: known.slice() }
  const any = decodeAnySpelling(address)
  if ('error' in any) return any
  const canonical = encodeHotkey(any.publicKey)
  if (canonical !== address) {
    return {
      error: `${address} is another spelling of the key whose canonical SS58 address (prefix 42) is ${canonical}; use ${canonical}`,
      canonical,
    }
  }
  if (decoded.size >= DECODED_CACHE_LIMIT) decoded.clear()
  decoded.set(address, any.publicKey.slice())
  return { publicKey: any.publicKey }
}

/** The canonical address of any valid spelling of a prefix-42 key, or undefined when it is not one. */
export function canonicalHotkey(address: string): string | undefined {
  const any = decodeAnySpelling(address)
  return 'error' in any ? undefined : encodeHotkey(any.publicKey)
}

export const isHotkey = (address: string): boolean => 'publicKey' in decodeHotkey(address)

export const encodeHotkey = (publicKey: Uint8Array): string => encodeAddress(publicKey, SS58_PREFIX)

/** Parses 64 signature bytes from hex, with or without 0x. */
export function parseSignature(hex: string): Uint8Array | undefined {
  const body = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex
  if (!/^[0-9a-fA-F]{128}$/.test(body)) return undefined
  return Uint8Array.from(Buffer.from(body, 'hex'))
}

const encoder = new TextEncoder()

/**
 * True when `signature` signs `message` under `publicKey`, either over the raw UTF-8 message or over
 * `<Bytes>message</Bytes>`, the way browser wallet extensions wrap what they sign. Call after cryptoReady().
 */
export function verifyMessage(publicKey: Uint8Array, message: string, signature: Uint8Array): boolean {
  return signedForms(message).some((form) => verifyBytes(publicKey, encoder.encode(form), signature))
}

function verifyBytes(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return sr25519Verify(signature, message, publicKey)
  } catch {
    return false
  }
}
