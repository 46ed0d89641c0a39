/**
 * Checks a proof package (what `/claims/epoch/{id}/proof/{hotkey}` serves) with no trust in the server:
 * recomputes the leaf from its fields, folds the proof and compares with the root.
 */
import { decodeHotkey } from '../crypto/sr25519.ts'
import { CLAIM_TREE_FORMAT, foldProof, fromHex32, hashLeaf, toHex32 } from './claim-tree.ts'
import { unitsFromJson } from './units.ts'

export interface ProofPackageCheck {
  ok: boolean
  leaf: string | null
  root: string | null
  problems: string[]
}

export function checkProofPackage(pkg: unknown, expectedRoot?: string): ProofPackageCheck {
  const problems: string[] = []
  const p = (pkg ?? {}) as Record<string, unknown>
  if (p.format !== CLAIM_TREE_FORMAT)
    problems.push(`format is ${JSON.stringify(p.format)}, expected ${CLAIM_TREE_FORMAT}`)
  const epoch =
    typeof p.epoch === 'number' && Number.isSafeInteger(p.epoch) && p.epoch >= 0 ? BigInt(p.epoch) : undefined
  if (epoch === undefined) problems.push('epoch must be a non-negative integer')
  const index =
    typeof p.index === 'number' && Number.isInteger(p.index) && p.index >= 0 && p.index <= 0xffff_ffff
      ? p.index
      : undefined
  if (index === undefined) problems.push('index must be an unsigned 32-bit integer')
  const hotkey = typeof p.hotkey === 'string' ? decodeHotkey(p.hotkey) : { error: 'missing' }
  if ('error' in hotkey) problems.push(`hotkey: ${hotkey.error}`)
  const recipient = typeof p.recipient_coldkey === 'string' ? decodeHotkey(p.recipient_coldkey) : { error: 'missing' }
  if ('error' in recipient) problems.push(`recipient_coldkey: ${recipient.error}`)
  const amount = unitsFromJson(p.amount_units)
  if (amount === undefined) problems.push('amount_units must be an unsigned 64-bit integer')
  let proof: Uint8Array[] | undefined
  try {
    if (!Array.isArray(p.proof)) throw new Error('not a list')
    proof = p.proof.map((x) => fromHex32(String(x)))
  } catch {
    problems.push('proof must be a list of 0x-prefixed 32-byte hex strings')
  }
  let root: Uint8Array | undefined
  try {
    root = fromHex32(String(expectedRoot ?? p.root))
  } catch {
    problems.push('root must be 0x followed by 64 hex digits')
  }
  if (
    problems.length > 0 ||
    epoch === undefined ||
    index === undefined ||
    'error' in hotkey ||
    'error' in recipient ||
    amount === undefined ||
    proof === undefined ||
    root === undefined
  ) {
    return { ok: false, leaf: null, root: null, problems }
  }
  const leaf = hashLeaf(epoch, index, { hotkey: hotkey.publicKey, recipient: recipient.publicKey, amountUnits: amount })
  const folded = toHex32(foldProof(leaf, proof))
  const leafHex = toHex32(leaf)
  if (typeof p.leaf === 'string' && p.leaf.toLowerCase() !== leafHex)
    problems.push(`leaf in the package (${p.leaf}) differs from the recomputed leaf ${leafHex}`)
  // `amount` repeats `amount_units` for clients that read it; a package where they differ is not trustworthy.
  if (p.amount !== undefined && unitsFromJson(p.amount) !== amount) {
    problems.push(`amount (${JSON.stringify(p.amount)}) differs from amount_units (${amount})`)
  }
  if (folded !== toHex32(root)) problems.push(`the proof folds to ${folded}, not to the root ${toHex32(root)}`)
  if (expectedRoot !== undefined && typeof p.root === 'string' && p.root.toLowerCase() !== toHex32(root)) {
    problems.push(`the package names root ${p.root}, not the expected ${toHex32(root)}`)
  }
  return { ok: problems.length === 0, leaf: leafHex, root: folded, problems }
}
