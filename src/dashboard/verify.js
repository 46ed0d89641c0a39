// Checks a claim proof package in the browser with no trust in the server (SPEC §8.4, format
// sotapool-claims-blake2b-v1): decode the SS58 keys, recompute the leaf, fold the proof, compare roots.
// Plain ESM with no imports beyond blake2b.js, so the dashboard loads it as is and node tests import it.
import { blake2b } from './blake2b.js'

export const CLAIM_TREE_FORMAT = 'sotapool-claims-blake2b-v1'
const SS58_PREFIX = 42
const U64_MAX = (1n << 64n) - 1n
const U32_MAX = 0xffffffff

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const BASE58_VALUE = new Map([...BASE58].map((c, i) => [c, i]))

/** Base58 (Bitcoin alphabet) to bytes; throws on a character outside the alphabet. */
export function base58Decode(text) {
  const bytes = [] // little-endian base-256 digits of the number
  for (const c of text) {
    let carry = BASE58_VALUE.get(c)
    if (carry === undefined) throw new Error(`"${c}" is not a base58 character`)
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i] * 58
      bytes[i] = carry & 0xff
      carry >>= 8
    }
    for (; carry > 0; carry >>= 8) bytes.push(carry & 0xff)
  }
  let zeros = 0 // each leading "1" stands for a leading zero byte
  while (zeros < text.length && text[zeros] === '1') zeros++
  return Uint8Array.from([...new Array(zeros).fill(0), ...bytes.reverse()])
}

const SS58_CHECKSUM_PREFIX = new TextEncoder().encode('SS58PRE')

/** The 32-byte public key of an SS58 address with prefix 42; throws with the reason otherwise. */
export function decodeSs58(address) {
  if (typeof address !== 'string' || address.length === 0) throw new Error('address missing')
  const raw = base58Decode(address)
  if (raw.length !== 35) throw new Error(`address decodes to ${raw.length} bytes, expected 35`)
  if (raw[0] !== SS58_PREFIX) throw new Error(`address prefix is ${raw[0]}, expected ${SS58_PREFIX}`)
  const preimage = new Uint8Array(SS58_CHECKSUM_PREFIX.length + 33)
  preimage.set(SS58_CHECKSUM_PREFIX)
  preimage.set(raw.subarray(0, 33), SS58_CHECKSUM_PREFIX.length)
  const checksum = blake2b(preimage, 64)
  if (checksum[0] !== raw[33] || checksum[1] !== raw[34]) throw new Error('address checksum does not match')
  return raw.slice(1, 33)
}

/** `0x` + 64 hex digits to 32 bytes; throws otherwise. */
export function fromHex32(hex) {
  if (typeof hex !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(hex))
    throw new Error('expected 0x followed by 64 hex digits')
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16)
  return out
}

export function toHex(bytes) {
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

/** An amount as the API sends it (an integer, or a decimal string above 2^53 − 1) as a u64 bigint. */
export function unitsFromJson(value) {
  let units
  if (typeof value === 'number' && Number.isSafeInteger(value)) units = BigInt(value)
  else if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) units = BigInt(value)
  if (units === undefined || units < 0n || units > U64_MAX)
    throw new Error(`amount ${JSON.stringify(value)} is not an unsigned 64-bit integer`)
  return units
}

function compareBytes(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return 0
}

/** Leaf = H(0x00 ‖ epoch u64 LE ‖ index u32 LE ‖ hotkey 32 ‖ recipient 32 ‖ amount u64 LE). */
export function hashLeaf(epoch, index, hotkey, recipient, amountUnits) {
  const pre = new Uint8Array(85)
  const view = new DataView(pre.buffer)
  pre[0] = 0x00
  view.setBigUint64(1, BigInt(epoch), true)
  view.setUint32(9, index, true)
  pre.set(hotkey, 13)
  pre.set(recipient, 45)
  view.setBigUint64(77, amountUnits, true)
  return blake2b(pre, 32)
}

/** Node = H(0x01 ‖ smaller ‖ larger), the children compared as bytes. */
export function hashNode(a, b) {
  const [lo, hi] = compareBytes(a, b) <= 0 ? [a, b] : [b, a]
  const pre = new Uint8Array(65)
  pre[0] = 0x01
  pre.set(lo, 1)
  pre.set(hi, 33)
  return blake2b(pre, 32)
}

export function foldProof(leaf, proof) {
  return proof.reduce((acc, sibling) => hashNode(acc, sibling), leaf)
}

/** The root over leaf hashes in index order: pairs hashed level by level, an odd last node carried up. */
export function rootOfLeaves(leaves) {
  if (leaves.length === 0) return new Uint8Array(32)
  let level = leaves
  while (level.length > 1) {
    const up = []
    for (let i = 0; i < level.length; i += 2)
      up.push(i + 1 < level.length ? hashNode(level[i], level[i + 1]) : level[i])
    level = up
  }
  return level[0]
}

/** Byte order of two public keys (the leaf order of the tree). */
export { compareBytes }

/**
 * Checks a proof package against its own root, or against `expectedRoot` (e.g. the root the epoch
 * metadata publishes). Never throws: `{ok, leaf, root, problems}`, `root` being what the proof folds to.
 */
export function checkProofPackage(pkg, expectedRoot) {
  const p = pkg ?? {}
  const problems = []
  const attempt = (what, fn) => {
    try {
      return fn()
    } catch (err) {
      problems.push(`${what}: ${err.message}`)
      return undefined
    }
  }
  if (p.format !== CLAIM_TREE_FORMAT)
    problems.push(`format is ${JSON.stringify(p.format)}, expected ${CLAIM_TREE_FORMAT}`)
  const epochOk = Number.isSafeInteger(p.epoch) && p.epoch >= 0
  if (!epochOk) problems.push('epoch must be a non-negative integer')
  const indexOk = Number.isInteger(p.index) && p.index >= 0 && p.index <= U32_MAX
  if (!indexOk) problems.push('index must be an unsigned 32-bit integer')
  const hotkey = attempt('hotkey', () => decodeSs58(p.hotkey))
  const recipient = attempt('recipient_coldkey', () => decodeSs58(p.recipient_coldkey))
  const amount = attempt('amount_units', () => unitsFromJson(p.amount_units))
  const proof = attempt('proof', () => {
    if (!Array.isArray(p.proof)) throw new Error('not a list')
    return p.proof.map(fromHex32)
  })
  const root = attempt('root', () => fromHex32(expectedRoot ?? p.root))
  if (problems.length > 0) return { ok: false, leaf: null, root: null, problems }

  const leaf = hashLeaf(p.epoch, p.index, hotkey, recipient, amount)
  const leafHex = toHex(leaf)
  const folded = toHex(foldProof(leaf, proof))
  const rootHex = toHex(root)
  if (typeof p.leaf === 'string' && p.leaf.toLowerCase() !== leafHex)
    problems.push(`the package's leaf ${p.leaf} differs from the recomputed leaf ${leafHex}`)
  if (p.amount !== undefined) {
    const repeated = attempt('amount', () => unitsFromJson(p.amount))
    if (repeated !== undefined && repeated !== amount)
      problems.push(`amount ${JSON.stringify(p.amount)} differs from amount_units`)
  }
  if (folded !== rootHex) problems.push(`the proof folds to ${folded}, not to the root ${rootHex}`)
  if (expectedRoot !== undefined && typeof p.root === 'string' && p.root.toLowerCase() !== rootHex)
    problems.push(`the package names root ${p.root}, the epoch publishes ${rootHex}`)
  return { ok: problems.length === 0, leaf: leafHex, root: folded, problems }
}
