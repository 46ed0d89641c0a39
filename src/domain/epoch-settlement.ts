/**
 * Settling an epoch (SPEC §8.2–8.3): everything an epoch close decides about units, as a function of plain
 * inputs (micro-points per miner, the cumulative credit each hotkey carries in, who has a recipient, and
 * the parameters). The close (`EpochService.close`), `sotapool epoch verify` from the database
 * (`EpochService.verify`) and from an artifact (`checkEpochArtifact`) all call it, so they cannot disagree.
 *
 * Decisions settled here (the README repeats them):
 *
 * - The epoch's budget is split by `computePayouts` (fee, per-miner cap, proportional shares; no fee when
 *   no one has points).
 * - Credit is cumulative: a hotkey's credit through the epoch is its credit in plus this epoch's payout.
 * - A hotkey gets a leaf when its cumulative credit is > 0, reaches the minimum payout, and it has a
 *   recipient; the leaf holds the whole cumulative credit. Everyone else with credit > 0 carries it to
 *   the next epoch.
 * - Every unit is accounted for: leaves + carried + fee + undistributed = budget + credit in.
 */
import { computePayouts, type PayoutResult, type PointsEntry } from './payouts.ts'
import { STORED_UNITS_MAX } from './units.ts'

export interface SettlementParams {
  budgetUnits: bigint
  feeBps: number
  /** Per-miner cap as basis points of the budget; 0 = no cap. */
  minerCapBps: number
  /** The smallest cumulative credit that gets a leaf. */
  minPayoutUnits: bigint
}

export interface SettlementInput extends SettlementParams {
  /** Micro-points of the epoch per miner (entries with 0 micro-points are ignored). */
  points: readonly PointsEntry[]
  /** Cumulative credit of each hotkey before this epoch (the sum of its earlier payouts). */
  creditIn: ReadonlyMap<string, bigint>
  /** The recipient coldkey of each hotkey that has one; a hotkey missing here gets no leaf. */
  recipients: ReadonlyMap<string, string>
}

export interface SettlementLeaf {
  hotkey: string
  recipient: string
  /** The hotkey's whole cumulative credit. */
  amountUnits: bigint
}

export interface Settlement {
  payouts: PayoutResult
  /** Cumulative credit through this epoch of every hotkey with credit in or a payout. */
  credit: Map<string, bigint>
  /** Hotkeys that get a leaf, by hotkey. */
  leaves: SettlementLeaf[]
  /** Credit > 0 of hotkeys without a leaf (no recipient, or below the minimum), carried to the next epoch. */
  carried: Map<string, bigint>
}

/** Whether a cumulative credit is large enough for a leaf: more than nothing, and at least the minimum. */
export function reachesMinPayout(creditUnits: bigint, minPayoutUnits: bigint): boolean {
  return creditUnits > 0n && creditUnits >= minPayoutUnits
}

/** Credit in plus this epoch's payouts, per hotkey. */
export function cumulativeCredit(
  creditIn: ReadonlyMap<string, bigint>,
  paid: Iterable<{ hotkey: string; units: bigint }>,
): Map<string, bigint> {
  const credit = new Map(creditIn)
  for (const p of paid) credit.set(p.hotkey, (credit.get(p.hotkey) ?? 0n) + p.units)
  return credit
}

/** The payouts, cumulative credit, leaves and carried credit of one epoch. */
export function settleEpoch(input: SettlementInput): Settlement {
  if (typeof input.minPayoutUnits !== 'bigint' || input.minPayoutUnits < 0n)
    throw new RangeError('settlement: minPayoutUnits must be a bigint ≥ 0')
  for (const [hotkey, units] of input.creditIn)
    if (typeof units !== 'bigint' || units < 0n)
      throw new RangeError(`settlement: credit in of ${hotkey} must be a bigint ≥ 0`)
  const payouts = computePayouts(input.points, {
    budgetUnits: input.budgetUnits,
    feeBps: input.feeBps,
    minerCapBps: input.minerCapBps,
  })
  const credit = cumulativeCredit(input.creditIn, payouts.payouts)
  const leaves: SettlementLeaf[] = []
  const carried = new Map<string, bigint>()
  for (const hotkey of [...credit.keys()].sort()) {
    const amount = credit.get(hotkey)!
    const recipient = input.recipients.get(hotkey)
    if (recipient !== undefined && reachesMinPayout(amount, input.minPayoutUnits)) {
      if (amount > STORED_UNITS_MAX) throw new Error(`cumulative credit of ${hotkey} exceeds the storable maximum`)
      leaves.push({ hotkey, recipient, amountUnits: amount })
    } else if (amount > 0n) carried.set(hotkey, amount)
  }
  return { payouts, credit, leaves, carried }
}
