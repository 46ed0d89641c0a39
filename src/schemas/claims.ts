/**
 * Schemas of the claim app that its service and the domain speak in too: proof packages, claims, the epoch
 * list, and the epoch artifact (SPEC §8.5) whose types `src/domain/epoch-artifact.ts` writes and checks.
 */
import { Type, type Static } from 'typebox'
import { CLAIM_TREE_FORMAT } from '../dashboard/verify.js'
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

/** The name and layout version an epoch artifact states about itself. */
export const ARTIFACT_NAME = 'sotapool-epoch-artifact'
export const ARTIFACT_VERSION = 1

export const ArtifactParams = Type.Object(
  {
    budget_units: Type.String(),
    pool_fee_bps: Type.Integer(),
    miner_cap_bps: Type.Integer(),
    min_payout_units: Type.String(),
    window_blocks: Type.Integer(),
    epoch_windows: Type.Integer(),
  },
  { description: 'The parameters the epoch was closed with.' },
)
/** The parameters an epoch closed with, as stored with it and published in its artifact. */
export type ArtifactParams = Static<typeof ArtifactParams>

const ArtifactPayout = Type.Object({
  hotkey: Type.String(),
  points: Type.Number({ description: "Epoch points: the sum of the miner's window points over the epoch." }),
  micro_points: Units,
  units: Units,
})
export type ArtifactPayout = Static<typeof ArtifactPayout>

const ArtifactCredit = Type.Object({ hotkey: Type.String(), credit_units: Units })
export type ArtifactCredit = Static<typeof ArtifactCredit>

const ArtifactLeaf = Type.Object({
  index: Type.Integer(),
  hotkey: Type.String(),
  recipient_coldkey: Type.String(),
  amount_units: Type.Union([Units], { description: 'Cumulative credit of the hotkey through this epoch.' }),
  leaf: Hex32,
})
export type ArtifactLeaf = Static<typeof ArtifactLeaf>

export const EpochArtifact = Type.Object({
  artifact: Type.Literal(ARTIFACT_NAME),
  version: Type.Literal(ARTIFACT_VERSION, { description: 'Layout version of the artifact.' }),
  format: Type.Literal(CLAIM_TREE_FORMAT, { description: 'Claim tree format (SPEC §8.4).' }),
  epoch: Type.Integer(),
  root: Hex32,
  num_of_leaves: Type.Integer(),
  total_units: Type.Union([Units], {
    description: 'Sum of the leaf amounts (the total published on chain with the root).',
  }),
  epoch_units: Units,
  fee_units: Units,
  undistributed_units: Units,
  budget_units: Units,
  window_start: Type.Integer(),
  window_end: Type.Integer(),
  block_start: Type.Integer({ description: 'First block of the epoch (inclusive).' }),
  block_end: Type.Integer({ description: 'Last block of the epoch (inclusive).' }),
  closed_at: Type.String(),
  params: ArtifactParams,
  payouts: Type.Array(ArtifactPayout, {
    description: 'Every miner with points in the epoch: the payout inputs and the units they give.',
  }),
  credit_without_leaf: Type.Array(ArtifactCredit, {
    description:
      'Hotkeys with cumulative credit but no leaf in this epoch (no recipient yet, or below MIN_PAYOUT_UNITS).',
  }),
  leaves: Type.Array(ArtifactLeaf, {
    description: 'Every leaf, by index (hotkey public key ascending). Proofs are at /epoch/{epoch_id}/proof/{hotkey}.',
  }),
})
export type EpochArtifact = Static<typeof EpochArtifact>

/** Everything before the three lists, as the artifact's writer is given it. */
export type ArtifactHeader = Omit<
  EpochArtifact,
  'artifact' | 'version' | 'format' | 'payouts' | 'credit_without_leaf' | 'leaves'
>
