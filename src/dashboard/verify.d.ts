/** Types of verify.js (the dashboard's claim verifier) for the TypeScript tests that import it. */
export declare const CLAIM_TREE_FORMAT: 'sotapool-claims-blake2b-v1'
export declare function base58Decode(text: string): Uint8Array
export declare function decodeSs58(address: string): Uint8Array
export declare function fromHex32(hex: string): Uint8Array
export declare function toHex(bytes: Uint8Array): string
export declare function unitsFromJson(value: unknown): bigint
export declare function hashLeaf(
  epoch: number | bigint,
  index: number,
  hotkey: Uint8Array,
  recipient: Uint8Array,
  amountUnits: bigint,
): Uint8Array
export declare function hashNode(a: Uint8Array, b: Uint8Array): Uint8Array
export declare function foldProof(leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array
export declare function rootOfLeaves(leaves: readonly Uint8Array[]): Uint8Array
export declare function compareBytes(a: Uint8Array, b: Uint8Array): number
export interface ProofPackageCheck {
  ok: boolean
  leaf: string | null
  root: string | null
  problems: string[]
}
export declare function checkProofPackage(pkg: unknown, expectedRoot?: string): ProofPackageCheck
