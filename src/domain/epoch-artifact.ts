/**
 * The epoch artifact (SPEC §8.5): everything needed to check a closed epoch from outside, as one JSON
 * document that `GET /claims/epoch/{epoch}/artifact` serves and `sotapool epoch export` writes, byte for
 * byte the same. `checkEpochArtifact` is the outside check `sotapool epoch verify --url` runs.
 *
 * Decisions settled here (the README repeats them):
 *
 * - Versioned: `artifact` names the document, `version` its layout (1), `format` the claim tree format.
 *   The layout is the `EpochArtifact` schema (`src/schemas/claims.ts`); the types here derive from it.
 * - The payout inputs are in it: per-miner epoch points (and the micro-points they round to), the
 *   parameters the epoch closed with (budget, fee, cap, minimum, tempo) and the windows covered. The check
 *   settles the epoch from them with `settleEpoch` (`epoch-settlement.ts`), the one function the close
 *   itself calls (payouts, fee, cumulative credit, who gets a leaf, who carries credit), given the credit
 *   the previous artifact states and the recipients the leaves name, and compares what the artifact states.
 * - Windows and blocks: the artifact states the tempo it closed with (`window_blocks`, `epoch_windows`), not
 *   the tempo's history. A tempo change starts a new period at an epoch boundary (`tempo.ts`), so an epoch
 *   spans `epoch_windows` windows of `window_blocks` blocks that follow on from the previous epoch's last
 *   window and block; the pool's first closed epoch lies in its first period, which starts at block 0.
 * - `credit_without_leaf` lists the hotkeys whose cumulative credit is > 0 but who have no leaf (no
 *   recipient, or below the minimum), so the credit of every hotkey can be chained from one epoch to the
 *   next: cumulative credit = earlier credit + this epoch's payout.
 * - Leaves carry index, hotkey, recipient, cumulative amount and the leaf hash, not their proofs: proofs
 *   follow from the leaves, are served one by one by the proof route, and would make a 1,000,000-leaf
 *   artifact about 1.3 GB instead of about 260 MB.
 * - Layout: one JSON object; each element of `payouts`, `credit_without_leaf` and `leaves` on a line of
 *   its own, so the document can be written while it is read from the database, in bounded memory.
 * - The leaves → root check uses the dashboard's verifier (`src/dashboard/verify.js`: its own BLAKE2b in
 *   plain JavaScript, its own SS58 decoding and tree folding), not `claim-tree.ts` (WebAssembly BLAKE2b,
 *   flat-buffer builder) that built the root: a bug in the builder cannot hide itself in the check.
 */
import {
  CLAIM_TREE_FORMAT,
  compareBytes,
  decodeSs58,
  fromHex32,
  hashLeaf,
  rootOfLeaves,
  toHex,
} from '../dashboard/verify.js'
import {
  ARTIFACT_NAME,
  ARTIFACT_VERSION,
  type ArtifactCredit,
  type ArtifactHeader,
  type ArtifactLeaf,
  type ArtifactPayout,
} from '../schemas/claims.ts'
import { settleEpoch, type Settlement } from './epoch-settlement.ts'
import { toMicroPoints, type PointsEntry } from './payouts.ts'
import { epochBlocks, epochWindows, type Tempo } from './tempo.ts'
import { U64_MAX } from './units.ts'

export { ARTIFACT_NAME, ARTIFACT_VERSION }

/**
 * The artifact as JSON text pieces, written as the lists are read: the header, then one list element per
 * line. Pure: the lists are whatever async iterables the caller reads from its store.
 */
export async function* artifactText(
  header: ArtifactHeader,
  lists: {
    payouts: AsyncIterable<ArtifactPayout>
    creditWithoutLeaf: AsyncIterable<ArtifactCredit>
    leaves: AsyncIterable<ArtifactLeaf>
  },
): AsyncGenerator<string> {
  const head = JSON.stringify({
    artifact: ARTIFACT_NAME,
    version: ARTIFACT_VERSION,
    format: CLAIM_TREE_FORMAT,
    ...header,
  })
  yield head.slice(0, -1)
  for (const [name, items] of [
    ['payouts', lists.payouts],
    ['credit_without_leaf', lists.creditWithoutLeaf],
    ['leaves', lists.leaves],
  ] as const) {
    let first = true
    let chunk = `,\n"${name}":[`
    for await (const item of items as AsyncIterable<unknown>) {
      chunk += `${first ? '' : ','}\n${JSON.stringify(item)}`
      first = false
      // Pieces of ~64 KiB: few writes, and memory stays bounded whatever the epoch's size.
      if (chunk.length >= 65_536) {
        yield chunk
        chunk = ''
      }
    }
    yield `${chunk}${first ? '' : '\n'}]`
  }
  yield '}\n'
}

/** What one epoch's artifact states that the next epoch's check builds on: its credit and where it ended. */
export interface CreditState {
  epoch: number
  /** The epoch's last window and last block, which the next epoch's follow on from. */
  windowEnd: number
  blockEnd: number
  /** Cumulative credit through the epoch of every hotkey with credit > 0 (leaves and credit without leaf). */
  credit: Map<string, bigint>
  /** Leaf amounts of the epoch. */
  leafAmounts: Map<string, bigint>
}

export interface ArtifactCheck {
  ok: boolean
  epoch: number | null
  root: string | null
  leaves: number
  /** In the order checked; the first one is the first mismatch. */
  problems: string[]
  /** The credit the artifact states, for the next epoch's check (null when the artifact is unreadable). */
  state: CreditState | null
}

class Unreadable extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function int(o: Record<string, unknown>, key: string, where: string): number {
  const v = o[key]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new Unreadable(`${where}${key} must be a non-negative integer, got ${JSON.stringify(v)}`)
  return v
}

function units(o: Record<string, unknown>, key: string, where: string): bigint {
  const v = o[key]
  let u: bigint | undefined
  if (typeof v === 'number' && Number.isSafeInteger(v)) u = BigInt(v)
  else if (typeof v === 'string' && /^\d{1,20}$/.test(v)) u = BigInt(v)
  if (u === undefined || u < 0n || u > U64_MAX)
    throw new Unreadable(`${where}${key} must be an unsigned 64-bit amount, got ${JSON.stringify(v)}`)
  return u
}

function str(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key]
  if (typeof v !== 'string') throw new Unreadable(`${where}${key} must be a string`)
  return v
}

function list(o: Record<string, unknown>, key: string): Array<Record<string, unknown>> {
  const v = o[key]
  if (!Array.isArray(v)) throw new Unreadable(`${key} must be a list`)
  v.forEach((item, i) => {
    if (!isObject(item)) throw new Unreadable(`${key}[${i}] must be an object`)
  })
  return v as Array<Record<string, unknown>>
}

function key(address: string, where: string): Uint8Array {
  try {
    return decodeSs58(address)
  } catch (err) {
    throw new Unreadable(`${where}: ${JSON.stringify(address)} is not an SS58 address (${(err as Error).message})`)
  }
}

/** The credit an artifact states, read without checking it (the epoch before the one checked). */
export function creditState(artifact: unknown): CreditState {
  if (!isObject(artifact)) throw new Error('the artifact is not a JSON object')
  const credit = new Map<string, bigint>()
  const leafAmounts = new Map<string, bigint>()
  for (const l of list(artifact, 'leaves')) {
    const amount = units(l, 'amount_units', 'leaf ')
    leafAmounts.set(str(l, 'hotkey', 'leaf '), amount)
    credit.set(str(l, 'hotkey', 'leaf '), amount)
  }
  for (const c of list(artifact, 'credit_without_leaf'))
    credit.set(str(c, 'hotkey', 'credit_without_leaf '), units(c, 'credit_units', 'credit_without_leaf '))
  return {
    epoch: int(artifact, 'epoch', ''),
    windowEnd: int(artifact, 'window_end', ''),
    blockEnd: int(artifact, 'block_end', ''),
    credit,
    leafAmounts,
  }
}

/**
 * The tempo period an epoch lies in, as far as the check can tell, with the settings its artifact states:
 * one that starts right after the previous epoch (a tempo change starts a period at an epoch boundary), or
 * for the pool's first closed epoch the first period, from block 0. Null when the previous artifact given
 * is not of the epoch before. Block times are not in the artifact and play no part in the ranges.
 */
function periodOf(
  epoch: number,
  settings: { windowBlocks: number; epochWindows: number },
  previous: CreditState | null,
): Tempo | null {
  if (previous !== null && previous.epoch !== epoch - 1) return null
  const from =
    previous === null
      ? { fromEpoch: 0, fromWindow: 0, fromBlock: 0 }
      : { fromEpoch: epoch, fromWindow: previous.windowEnd + 1, fromBlock: previous.blockEnd + 1 }
  const tempo = { blockTimeS: 0, ...settings }
  return { ...tempo, segments: [{ ...from, fromMs: 0, ...tempo }] }
}

/**
 * Checks one epoch's artifact with no trust in the server: inputs → payouts, leaves and carried credit by
 * `settleEpoch` from the credit the previous epoch states, totals within the budget, windows and blocks
 * following on from the previous epoch's, and leaves → root by the independent tree code (`previous`
 * null: the pool's first closed epoch, so no earlier credit, in the pool's first tempo period). Never throws.
 */
export function checkEpochArtifact(
  artifact: unknown,
  previous: CreditState | null,
  progress?: (leavesDone: number, leavesTotal: number) => void,
): ArtifactCheck {
  const problems: string[] = []
  let epoch: number | null = null
  let root: string | null = null
  let leafCount = 0
  try {
    if (!isObject(artifact)) throw new Unreadable('the artifact is not a JSON object')
    const a = artifact
    if (a.artifact !== ARTIFACT_NAME)
      throw new Unreadable(`artifact is ${JSON.stringify(a.artifact)}, expected ${ARTIFACT_NAME}`)
    if (a.version !== ARTIFACT_VERSION)
      throw new Unreadable(`version is ${JSON.stringify(a.version)}; this verifier reads version ${ARTIFACT_VERSION}`)
    if (a.format !== CLAIM_TREE_FORMAT)
      throw new Unreadable(`format is ${JSON.stringify(a.format)}, expected ${CLAIM_TREE_FORMAT}`)
    epoch = int(a, 'epoch', '')
    root = str(a, 'root', '')
    const statedRoot = (() => {
      try {
        return toHex(fromHex32(root))
      } catch {
        throw new Unreadable('root must be 0x followed by 64 hex digits')
      }
    })()
    if (!isObject(a.params)) throw new Unreadable('params must be an object')
    const params = a.params
    const budget = units(params, 'budget_units', 'params.')
    const feeBps = int(params, 'pool_fee_bps', 'params.')
    const capBps = int(params, 'miner_cap_bps', 'params.')
    const minPayout = units(params, 'min_payout_units', 'params.')
    const blocksPerWindow = int(params, 'window_blocks', 'params.')
    const windowsPerEpoch = int(params, 'epoch_windows', 'params.')
    const payouts = list(a, 'payouts')
    const creditWithoutLeaf = list(a, 'credit_without_leaf')
    const leaves = list(a, 'leaves')
    leafCount = leaves.length
    const expect = (what: string, stated: bigint | number, derived: bigint | number, why: string): void => {
      if (BigInt(stated) !== BigInt(derived))
        problems.push(`${what}: the artifact says ${stated}, ${why} gives ${derived}`)
    }

    // The windows and blocks covered: as many as the parameters say, following on from the epoch before.
    const windowStart = int(a, 'window_start', '')
    const windowEnd = int(a, 'window_end', '')
    const blockStart = int(a, 'block_start', '')
    const blockEnd = int(a, 'block_end', '')
    const period = periodOf(epoch, { windowBlocks: blocksPerWindow, epochWindows: windowsPerEpoch }, previous)
    if (period !== null) {
      const firstWindow = epochWindows(epoch, period).first
      expect(
        'window_start',
        windowStart,
        firstWindow,
        previous === null
          ? `epoch ${epoch} × epoch_windows ${windowsPerEpoch} (the pool's first closed epoch, in its first tempo period)`
          : `the window after window_end ${previous.windowEnd} of epoch ${previous.epoch}`,
      )
      expect(
        'block_start',
        blockStart,
        epochBlocks(epoch, period).first,
        previous === null
          ? `window ${firstWindow} × window_blocks ${blocksPerWindow}`
          : `the block after block_end ${previous.blockEnd} of epoch ${previous.epoch}`,
      )
    }
    expect(
      'window_end',
      windowEnd,
      windowStart + windowsPerEpoch - 1,
      `window_start ${windowStart} + epoch_windows ${windowsPerEpoch} − 1`,
    )
    expect(
      'block_end',
      blockEnd,
      blockStart + windowsPerEpoch * blocksPerWindow - 1,
      `block_start ${blockStart} + epoch_windows ${windowsPerEpoch} × window_blocks ${blocksPerWindow} − 1`,
    )
    expect('budget_units', units(a, 'budget_units', ''), budget, 'params.budget_units')

    // The settlement's inputs: points, the recipients the leaves name and the credit the epoch before states.
    const entries: PointsEntry[] = []
    const stated = new Map<string, bigint>()
    for (const [i, p] of payouts.entries()) {
      const hotkey = str(p, 'hotkey', `payouts[${i}].`)
      const points = p.points
      if (typeof points !== 'number' || !Number.isFinite(points) || points < 0)
        throw new Unreadable(`payout of ${hotkey}: points must be a finite number ≥ 0`)
      const micro = units(p, 'micro_points', `payout of ${hotkey}: `)
      if (micro !== toMicroPoints(points))
        problems.push(
          `payout of ${hotkey}: micro_points ${micro} is not points ${points} rounded to micro-points (${toMicroPoints(points)})`,
        )
      if (stated.has(hotkey)) throw new Unreadable(`payout of ${hotkey} is listed twice`)
      stated.set(hotkey, units(p, 'units', `payout of ${hotkey}: `))
      entries.push({ hotkey, publicKey: key(hotkey, `payout of ${hotkey}`), microPoints: toMicroPoints(points) })
    }
    const recipients = new Map<string, string>()
    for (const [i, l] of leaves.entries()) {
      const hotkey = str(l, 'hotkey', `leaf ${i}: `)
      recipients.set(hotkey, str(l, 'recipient_coldkey', `leaf ${i} (hotkey ${hotkey}): `))
    }
    const before = previous?.credit ?? new Map<string, bigint>()
    let settlement: Settlement
    try {
      settlement = settleEpoch({
        points: entries,
        creditIn: before,
        recipients,
        budgetUnits: budget,
        feeBps,
        minerCapBps: capBps,
        minPayoutUnits: minPayout,
      })
    } catch (err) {
      throw new Unreadable(`the epoch cannot be settled from its inputs: ${(err as Error).message}`)
    }

    // Payouts, fee and undistributed units as settled.
    const rules = settlement.payouts
    const derived = new Map(rules.payouts.map((p) => [p.hotkey, p.units]))
    // Stated minus settled, per hotkey whose payout differs: the credit built on it differs by as much.
    const payoutError = new Map<string, bigint>()
    for (const [hotkey, u] of stated) {
      const d = derived.get(hotkey)
      if (d !== u) payoutError.set(hotkey, u - (d ?? 0n))
      if (d === undefined)
        problems.push(`payout of ${hotkey}: ${u} units listed for 0 micro-points (only miners with points are paid)`)
      else if (d !== u)
        problems.push(
          `payout of ${hotkey}: the artifact says ${u} units, the payout rules give ${d} (from the listed points and params)${rules.capUnits !== null && u > rules.capUnits ? `; ${u} exceeds the cap of ${rules.capUnits}` : ''}`,
        )
    }
    const paid = [...stated.values()].reduce((s, u) => s + u, 0n)
    const fee = units(a, 'fee_units', '')
    const epochUnits = units(a, 'epoch_units', '')
    const undistributed = units(a, 'undistributed_units', '')
    expect(
      'fee_units',
      fee,
      rules.feeUnits,
      `pool_fee_bps ${feeBps} of budget ${budget}${rules.payouts.length > 0 ? '' : ' (no points: no fee)'}`,
    )
    expect('epoch_units', epochUnits, paid, 'the sum of the listed payouts')
    expect('undistributed_units', undistributed, rules.undistributedUnits, 'the payout rules')
    // Totals within the budget: the epoch balances.
    if (fee + epochUnits + undistributed !== budget)
      problems.push(
        `totals: fee ${fee} + paid ${epochUnits} + undistributed ${undistributed} = ${fee + epochUnits + undistributed}, not the budget ${budget}`,
      )

    // Cumulative credit as settled: earlier credit + this epoch's payout, in a leaf or carried.
    const settled = (hotkey: string): bigint => settlement.credit.get(hotkey) ?? 0n
    const creditWhy = (hotkey: string): string =>
      `earlier credit ${before.get(hotkey) ?? 0n}${previous === null ? ' (first epoch)' : ` (epoch ${previous.epoch})`} + this epoch's payout ${derived.get(hotkey) ?? 0n}`
    // A stated credit off by exactly its payout's error follows from that payout, reported once above.
    const followsFromPayout = (hotkey: string, got: bigint): boolean =>
      payoutError.has(hotkey) && got - settled(hotkey) === payoutError.get(hotkey)
    const settledLeaves = new Set(settlement.leaves.map((l) => l.hotkey))
    const credit = new Map<string, bigint>()
    const leafAmounts = new Map<string, bigint>()
    for (const [i, c] of creditWithoutLeaf.entries()) {
      const hotkey = str(c, 'hotkey', `credit_without_leaf[${i}].`)
      credit.set(hotkey, units(c, 'credit_units', `credit of ${hotkey}: `))
    }

    // Leaves → root with the independent tree code; each leaf in order, hashing what it states.
    const hashes: Uint8Array[] = []
    // Order problems first: one moved leaf also breaks the hashes after it, but the order names the cause.
    const orderProblems: string[] = []
    const leafProblems: string[] = []
    let previousKey: Uint8Array | null = null
    let previousHotkey = ''
    let total = 0n
    for (const [i, l] of leaves.entries()) {
      const hotkey = str(l, 'hotkey', `leaf ${i}: `)
      const where = `leaf ${i} (hotkey ${hotkey})`
      const index = int(l, 'index', `${where}: `)
      if (index !== i)
        orderProblems.push(
          `leaf order: the leaf at position ${i} (hotkey ${hotkey}) has index ${index}; leaves are listed by index from 0`,
        )
      const hk = key(hotkey, where)
      if (previousKey !== null && compareBytes(previousKey, hk) >= 0)
        orderProblems.push(
          `leaf order: ${where} does not sort after leaf ${i - 1} (hotkey ${previousHotkey}) by public key`,
        )
      previousKey = hk
      previousHotkey = hotkey
      const recipient = key(str(l, 'recipient_coldkey', `${where}: `), `${where} recipient`)
      const amount = units(l, 'amount_units', `${where}: `)
      total += amount
      if (credit.has(hotkey) || leafAmounts.has(hotkey)) leafProblems.push(`${where} appears twice`)
      leafAmounts.set(hotkey, amount)
      credit.set(hotkey, amount)
      const want = settled(hotkey)
      if (!followsFromPayout(hotkey, amount)) {
        // The settlement gives a leaf to every hotkey the leaves name whose credit reaches the minimum.
        if (amount !== want)
          leafProblems.push(`${where}: cumulative amount ${amount}, but ${creditWhy(hotkey)} = ${want}`)
        if (!settledLeaves.has(hotkey)) {
          const what = amount === want ? `amount ${amount}` : `cumulative credit ${want}`
          leafProblems.push(
            `${where}: ${what} ${want === 0n ? 'is 0 (only credit > 0 gets a leaf)' : `is below min_payout_units ${minPayout}`}`,
          )
        }
      }
      const leaf = hashLeaf(BigInt(epoch), i, hk, recipient, amount)
      const leafHex = toHex(leaf)
      const statedLeaf = str(l, 'leaf', `${where}: `).toLowerCase()
      if (statedLeaf !== leafHex) {
        leafProblems.push(
          `${where}: the leaf hash ${statedLeaf} does not match its fields (index ${i}, recipient ${l.recipient_coldkey as string}, amount ${amount} hash to ${leafHex})`,
        )
      }
      hashes.push(leaf)
      if (progress !== undefined && (i + 1) % 1000 === 0) progress(i + 1, leaves.length)
    }
    progress?.(leaves.length, leaves.length)
    problems.push(...orderProblems, ...leafProblems)
    const folded = toHex(rootOfLeaves(hashes))
    if (folded !== statedRoot)
      problems.push(`root: the ${leaves.length} leaves fold to ${folded}, the artifact names ${statedRoot}`)
    expect('num_of_leaves', int(a, 'num_of_leaves', ''), leaves.length, 'the listed leaves')
    expect('total_units', units(a, 'total_units', ''), total, 'the sum of the leaf amounts')

    // Credit without a leaf: what the settlement carries (it knows no recipient for these hotkeys).
    for (const hotkey of new Set([...settlement.credit.keys(), ...credit.keys()])) {
      const got = credit.get(hotkey)
      const isLeaf = leafAmounts.has(hotkey)
      // (Leaves were compared in the leaf loop.)
      if (!isLeaf && !followsFromPayout(hotkey, got ?? 0n)) {
        const want = settlement.carried.get(hotkey) ?? 0n
        if (got === undefined) {
          if (want > 0n)
            problems.push(
              `credit of ${hotkey}: ${want} units (${creditWhy(hotkey)}) are missing from both the leaves and credit_without_leaf`,
            )
        } else if (got !== want) problems.push(`credit of ${hotkey} ${got}, but ${creditWhy(hotkey)} = ${want}`)
      }
      // Stated outright, though the settlement implies it: a cumulative amount never decreases.
      const earlier = previous?.leafAmounts.get(hotkey)
      if (earlier !== undefined && got !== undefined && got < earlier)
        problems.push(
          `${isLeaf ? `leaf of ${hotkey}: cumulative amount` : `credit of ${hotkey}`} fell from ${earlier} in epoch ${previous!.epoch} to ${got}`,
        )
    }
    if (previous !== null && previous.epoch !== epoch - 1)
      problems.push(`the previous artifact is of epoch ${previous.epoch}, not ${epoch - 1}`)
    return {
      ok: problems.length === 0,
      epoch,
      root: statedRoot,
      leaves: leafCount,
      problems,
      state: { epoch, windowEnd, blockEnd, credit, leafAmounts },
    }
  } catch (err) {
    if (!(err instanceof Unreadable)) throw err
    problems.push(`unreadable artifact: ${err.message}`)
    return { ok: false, epoch, root, leaves: leafCount, problems, state: null }
  }
}
