/** Schemas of the claim app that its service speaks in too: proof packages, claims, the epoch list. */
import { Type, type Static } from 'typebox'
import { Nullable, Units } from './common.ts'

export const Hex32 = Type.String({ description: '0x + 64 lowercase hex' })

export const ProofPackage = Type.Object({
  epoch: Type.Integer(),
  index: Type.Integer(),
  hotkey: Type.String(),
  recipient_coldkey: Type.String(),
  amount_units: Units,
  amount: Units,
  proof: Type.Array(Hex32),
  root: Hex32,
  leaf: Hex32,
  format: Type.String(),
})
export type ProofPackage = Static<typeof ProofPackage>

export const ClaimBody = Type.Object(
  {
    index: Type.Integer({ minimum: 0, maximum: 0xffff_ffff }),
    hotkey: Type.String({ maxLength: 64 }),
    recipient_coldkey: Type.String({ maxLength: 64 }),
    amount_units: Units,
    proof: Type.Array(Type.String({ maxLength: 80 }), { maxItems: 64 }),
  },
  { additionalProperties: true },
)
export type ClaimBody = Static<typeof ClaimBody>

/** Closed epochs, newest first, and the default (newest claimable) one. */
export const EpochList = Type.Object({ epochs: Type.Array(Type.Integer()), default_epoch: Nullable(Type.Integer()) })
export type EpochList = Static<typeof EpochList>
