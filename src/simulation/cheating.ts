/**
 * The cheating simulator: populations of miner strategies play against the pool's real services (leases,
 * consensus, window points, epoch payouts) in one process, on a pinned clock, with no HTTP and no
 * signatures, so hundreds of windows take seconds. Every run is deterministic for its seed.
 *
 * Every algorithm has a hidden true score. Seeds get one at random; an honest evolution changes its
 * parent's truth by -4 % to +10 % of the distance to 1 (improvements get harder near the top); a cheater's
 * evolution is junk (its parent's truth minus 0.1). Strategies:
 *
 * - honest: reports the truth.
 * - noisy: reports the truth ± `noise` (uniform), as a real evaluator on other hardware might.
 * - liar: reports a uniformly random score.
 * - lazy: does not evaluate; reports a plausible score (the best score among the seeds its lease showed,
 *   ± 0.02).
 * - coalition: its members report a fake high score (0.97) for the coalition's own evolutions, report
 *   rivals' evolutions as failed (null) and the truth on seeds, to blend in. After a member submits an
 *   evolution, the other members lease at once, so they are first in line for its evaluation slots.
 * - sybil: one operator behind many keys, all paid to the operator's one wallet; every key reports the fake
 *   high score for the operator's own evolutions (and leases at once after one), and the truth elsewhere.
 *
 * Every other miner is paid to a wallet of its own. `cheatFrom` makes the cheaters turncoats: honest (and
 * trusted) before that window, cheating from it.
 *
 * The report compares each strategy's share of points and payouts with its share of the miners (every
 * key does the same amount of work), counts fake SOTAs (an algorithm that raised the best decided score
 * while its consensus score was more than 0.05 above its truth), honest programs wrongly rejected or
 * mis-scored, honest evaluators marked as disagreeing, and how many windows each cheater kept earning.
 */
import { createHash } from 'node:crypto'
import { ManualClock } from '../clock.ts'
import { loadConfig } from '../config.ts'
import { encodeHotkey } from '../crypto/sr25519.ts'
import type { Database } from '../db/database.ts'
import { PoolError } from '../errors.ts'
import { DRAW_MODULUS } from '../domain/assignment.ts'
import { createPoolContext, type PoolContext } from '../services/context.ts'
import { sotaHistory } from '../services/sota.ts'
import { evolvedProgram } from './programs.ts'

export const STRATEGIES = ['honest', 'noisy', 'liar', 'lazy', 'coalition', 'sybil'] as const
export type Strategy = (typeof STRATEGIES)[number]
const CHEATERS: ReadonlySet<Strategy> = new Set(['liar', 'lazy', 'coalition', 'sybil'])
const HONEST: ReadonlySet<Strategy> = new Set(['honest', 'noisy'])

export interface CheatingScenario {
  /** Miners per strategy. */
  population: Partial<Record<Strategy, number>>
  windows: number
  seed: number
  /** Half-width of the noisy evaluators' error (default 0.01). */
  noise?: number
  /** Chance that a lease with an evolve budget submits an evolution (default 0.5). */
  evolveRate?: number
  /** Lease rounds per window at most (default 12); a window also ends when nobody gets work. */
  roundsPerWindow?: number
  /** Pool settings as environment variables (consensus, points, payouts…), on top of the defaults. */
  env?: Record<string, string>
  /**
   * The window (counted from 0) from which cheaters cheat; before it they play honest and earn the trust
   * of honest miners (default 0: from the start).
   */
  cheatFrom?: number
  /** The store to play on (default: a fresh in-memory SQLite database). It must be empty. */
  database?: Database
}

export interface StrategyReport {
  strategy: Strategy
  miners: number
  /** Share of all keys: what the strategy would earn if every key were paid for the same honest work. */
  fairShare: number
  pointsShare: number
  payoutShare: number
  /** payoutShare / fairShare: 1 is fair, above 1 the strategy gained by its behaviour. */
  payoutRatio: number
  agreements: number
  disagreements: number
  evolutions: number
  /** Cheaters only: mean count of windows in which a member still earned points (of `windows`). */
  windowsEarning: number | null
  /**
   * Cheaters only: mean count of windows until a member stopped earning for good (its last earning
   * window, counted from 1; 0 if it never earned, `windows` if it still earned in the last one).
   */
  windowsToNeutralise: number | null
}

export interface CheatingReport {
  scenario: { population: Partial<Record<Strategy, number>>; windows: number; seed: number; noise: number }
  strategies: StrategyReport[]
  decided: number
  fakeSotas: number
  honestEvolutions: number
  honestRejected: number
  honestMisscored: number
  /** Disagreements marked against honest and noisy evaluators. */
  honestMarkedDisagreeing: number
  /** Honest and noisy miners' share of the payouts against their share of the keys (1: no loss). */
  honestPayoutRatio: number
}

interface SimMiner {
  hotkey: string
  publicKey: string
  strategy: Strategy
}

const FAKE_HIGH = 0.97
const MISSCORED = 0.05
const START_MS = 1_700_000_000_000

/** Deterministic numbers in [0, 1) from a seed (SHA-256 in counter mode). */
export function seededRandom(seed: number): () => number {
  let counter = 0
  return () => createHash('sha256').update(`${seed}:${counter++}`).digest().readUIntBE(0, 6) / 2 ** 48
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

const clamp = (x: number): number => Math.min(1, Math.max(0, x))

/** Runs one scenario to the end and reports how every strategy fared. */
export async function simulateCheating(scenario: CheatingScenario): Promise<CheatingReport> {
  const random = seededRandom(scenario.seed)
  const noise = scenario.noise ?? 0.01
  const evolveRate = scenario.evolveRate ?? 0.5
  const rounds = scenario.roundsPerWindow ?? 12
  const clock = new ManualClock(START_MS)
  const config = loadConfig({
    DATABASE_URL: 'sqlite::memory:',
    BACKGROUND_JOBS: 'false',
    LOG_LEVEL: 'silent',
    EPOCH_WINDOWS: '1',
    AUTH_VERIFY_THREADS: '0',
    ...scenario.env,
  })
  // The pool's secret assignment draws come from the scenario's seed too, so a run replays exactly.
  const drawRandom = seededRandom(scenario.seed + 0x5eed)
  const pool = await createPoolContext(config, {
    clock,
    draws: () => BigInt(1 + Math.floor(drawRandom() * (DRAW_MODULUS - 1))),
    ...(scenario.database === undefined ? {} : { database: scenario.database }),
  })
  try {
    return await play(pool, clock, scenario, { random, noise, evolveRate, rounds })
  } finally {
    // A store passed in belongs to the caller.
    if (scenario.database === undefined) await pool.close()
    else {
      await pool.verifier.close()
      await pool.blocks.close()
    }
  }
}

async function play(
  pool: PoolContext,
  clock: ManualClock,
  scenario: CheatingScenario,
  knobs: { random: () => number; noise: number; evolveRate: number; rounds: number },
): Promise<CheatingReport> {
  const { random, noise, evolveRate, rounds } = knobs
  const taskType = pool.config.taskTypes[0]!
  // Every miner is paid to its own wallet, except a sybil operator's keys, which share the operator's.
  const wallet = (name: string): string => encodeHotkey(createHash('sha256').update(`wallet:${name}`).digest())

  const miners: SimMiner[] = []
  for (const strategy of STRATEGIES) {
    for (let i = 0; i < (scenario.population[strategy] ?? 0); i++) {
      const publicKey = createHash('sha256').update(`${scenario.seed}:${strategy}:${i}`).digest()
      const hotkey = encodeHotkey(publicKey)
      await pool.miners.touch(hotkey, publicKey.toString('hex'), clock.now())
      await pool.miners.setRecipient(hotkey, wallet(strategy === 'sybil' ? 'sybil' : hotkey), clock.now())
      miners.push({ hotkey, publicKey: publicKey.toString('hex'), strategy })
    }
  }
  const strategyOf = new Map(miners.map((m) => [m.hotkey, m.strategy]))
  const colluding = (a: SimMiner, author: string | null): boolean => {
    if (author === null) return false
    const theirs = strategyOf.get(author)
    return (a.strategy === 'coalition' || a.strategy === 'sybil') && theirs === a.strategy
  }

  // Hidden truth of every algorithm, and who wrote it.
  const truth = new Map<number, number>()
  const author = new Map<number, string | null>()
  for (const seed of await pool.database.db.selectFrom('algorithms').select(['id']).orderBy('id').execute()) {
    truth.set(Number(seed.id), 0.3 + 0.3 * random())
    author.set(Number(seed.id), null)
  }
  let programs = 0

  // Cheaters play honest until the window `cheatFrom` (a coalition that earns trust first).
  let cheating = (scenario.cheatFrom ?? 0) <= 0
  const score = (m: SimMiner, id: number, lazyGuess: number): number | null => {
    const t = truth.get(id) ?? 0.5
    const by = author.get(id) ?? null
    if (!cheating && CHEATERS.has(m.strategy)) return t
    switch (m.strategy) {
      case 'honest':
        return t
      case 'noisy':
        return clamp(t + (random() * 2 - 1) * noise)
      case 'liar':
        return random()
      case 'lazy':
        return clamp(lazyGuess + (random() * 2 - 1) * 0.02)
      case 'coalition':
        if (colluding(m, by)) return FAKE_HIGH
        return by === null ? t : null
      case 'sybil':
        return colluding(m, by) ? FAKE_HIGH : t
    }
  }

  for (let w = 0; w < scenario.windows; w++) {
    if (w === scenario.cheatFrom) cheating = true
    const windowNumber = pool.currentWindow().windowNumber
    for (let r = 0; r < rounds; r++) {
      let front: SimMiner[] = []
      let anyWork = false
      const queue = shuffle([...miners], random)
      const jumped = new Set<string>()
      while (queue.length > 0 || front.length > 0) {
        const m = front.length > 0 ? front.shift()! : queue.shift()!
        let lease: Awaited<ReturnType<PoolContext['work']['lease']>>
        // A signed request refreshes the miner's last sighting, as the HTTP routes do.
        await pool.miners.touch(m.hotkey, m.publicKey, clock.now())
        try {
          lease = await pool.work.lease({
            miner: m.hotkey,
            taskType,
            evalBatchSize: 8,
            seedBatchSize: 4,
            gossipLimit: 0,
            windowNumber,
          })
        } catch (err) {
          if (err instanceof PoolError && err.code === 'POOL_ERR_NO_WORK') continue
          throw err
        }
        anyWork = true
        const shown = lease.seed_algorithms.map((a) => a.score).filter((s): s is number => typeof s === 'number')
        const lazyGuess = shown.length > 0 ? Math.max(...shown) : 0.5
        const evaluations = lease.evaluate_algorithms.map((a) => ({
          algorithm_id: a.id,
          score: score(m, a.id, lazyGuess),
        }))
        const evolutions: Array<{ parent_algorithm_ids: number[]; algorithm_dsl: string }> = []
        let parent: number | undefined
        if (lease.evolve_budget > 0 && lease.seed_algorithms.length > 0 && random() < evolveRate) {
          parent = lease.seed_algorithms[Math.floor(random() * lease.seed_algorithms.length)]!.id
          evolutions.push({ parent_algorithm_ids: [parent], algorithm_dsl: evolvedProgram(programs++) })
        }
        const submitted = await pool.work.submitLease(m.hotkey, lease.lease_id, { evaluations, evolutions })
        for (const id of submitted.new_algorithm_ids) {
          const base = truth.get(parent!) ?? 0.5
          const cheat = cheating && (m.strategy === 'coalition' || m.strategy === 'sybil')
          truth.set(id, clamp(cheat ? base - 0.1 : base + (1 - base) * (random() * 0.14 - 0.04)))
          author.set(id, m.hotkey)
          // A coordinated group lines up for its own evolution's evaluation slots.
          // (Each miner jumps the queue at most once a round.)
          if (cheat) {
            const mates = miners.filter(
              (x) => x.strategy === m.strategy && x.hotkey !== m.hotkey && !jumped.has(x.hotkey),
            )
            for (const x of mates) jumped.add(x.hotkey)
            front = [...front, ...mates]
          }
        }
      }
      // What the background jobs do between rounds: parked samples are judged again.
      await pool.work.rejudgeParked()
      if (!anyWork) break
      clock.advance(60_000)
    }
    // To the next window: close it and its epoch.
    const windowMs = pool.tempo.windowBlocks * pool.tempo.blockTimeS * 1000
    const next = pool.genesisMs + (windowNumber + 1) * windowMs
    clock.set(Math.max(clock.now(), next))
    await pool.work.rejudgeParked()
    await pool.epochs.closeReady()
  }
  clock.advance(pool.tempo.windowBlocks * pool.tempo.blockTimeS * 1000)
  await pool.epochs.closeReady()

  return await report(pool, scenario, miners, truth, author, noise)
}

async function report(
  pool: PoolContext,
  scenario: CheatingScenario,
  miners: SimMiner[],
  truth: Map<number, number>,
  author: Map<number, string | null>,
  noise: number,
): Promise<CheatingReport> {
  const db = pool.database.db
  const points = await db
    .selectFrom('window_points')
    .select(['miner_hotkey', 'window_number', 'points', 'agreements', 'disagreements', 'evolutions'])
    .execute()
  const payouts = await db.selectFrom('epoch_payouts').select(['hotkey', 'units']).execute()
  const algorithms = await db
    .selectFrom('algorithms')
    .select(['id', 'state', 'consensus_score', 'decided_at', 'miner_hotkey'])
    .where('state', '!=', 'evaluating')
    .orderBy('decided_at')
    .orderBy('id')
    .execute()

  const strategyOf = new Map(miners.map((m) => [m.hotkey, m.strategy]))
  const totalPoints = points.reduce((s, p) => s + Math.max(0, p.points), 0)
  const totalUnits = payouts.reduce((s, p) => s + p.units, 0n)
  const strategies: StrategyReport[] = []
  for (const strategy of STRATEGIES) {
    const members = miners.filter((m) => m.strategy === strategy)
    if (members.length === 0) continue
    const mine = new Set(members.map((m) => m.hotkey))
    const rows = points.filter((p) => mine.has(p.miner_hotkey))
    const pts = rows.reduce((s, p) => s + Math.max(0, p.points), 0)
    const units = payouts.filter((p) => mine.has(p.hotkey)).reduce((s, p) => s + p.units, 0n)
    const fairShare = members.length / miners.length
    const payoutShare = totalUnits === 0n ? 0 : Number((units * 1_000_000n) / totalUnits) / 1_000_000
    const first = Math.min(...points.map((p) => Number(p.window_number)))
    const lastEarning = (hotkey: string): number =>
      Math.max(
        0,
        ...rows
          .filter((p) => p.miner_hotkey === hotkey && p.points > 0)
          .map((p) => Number(p.window_number) - first + 1),
      )
    const neutralised = CHEATERS.has(strategy)
      ? members.reduce((sum, m) => sum + Math.min(scenario.windows, lastEarning(m.hotkey)), 0) / members.length
      : null
    const earning = CHEATERS.has(strategy)
      ? members.reduce((s, m) => s + rows.filter((p) => p.miner_hotkey === m.hotkey && p.points > 0).length, 0) /
        members.length
      : null
    strategies.push({
      strategy,
      miners: members.length,
      fairShare,
      pointsShare: totalPoints === 0 ? 0 : pts / totalPoints,
      payoutShare,
      payoutRatio: payoutShare / fairShare,
      agreements: rows.reduce((s, p) => s + Number(p.agreements), 0),
      disagreements: rows.reduce((s, p) => s + Number(p.disagreements), 0),
      evolutions: rows.reduce((s, p) => s + Number(p.evolutions), 0),
      windowsEarning: earning,
      windowsToNeutralise: neutralised,
    })
  }

  let honestEvolutions = 0
  let honestRejected = 0
  let honestMisscored = 0
  for (const a of algorithms) {
    const id = Number(a.id)
    const by = author.get(id) ?? null
    if (by === null || !HONEST.has(strategyOf.get(by)!)) continue
    honestEvolutions++
    if (a.state === 'rejected') honestRejected++
    else if (Math.abs(Number(a.consensus_score) - (truth.get(id) ?? 0)) > MISSCORED) honestMisscored++
  }
  // A fake SOTA raised the pool's own SOTA history while its consensus score overstated its truth.
  let fakeSotas = 0
  let best = 0
  for (const point of (await sotaHistory(db, pool.config.taskTypes[0]!, Number.MAX_SAFE_INTEGER)).points) {
    if (point.sota > best && point.consensus_score - (truth.get(point.algorithm_id) ?? 0) > MISSCORED) fakeSotas++
    best = point.sota
  }
  const honestRows = strategies.filter((s) => HONEST.has(s.strategy))
  const honestShare = honestRows.reduce((s, r) => s + r.payoutShare, 0)
  const honestFair = honestRows.reduce((s, r) => s + r.fairShare, 0)
  return {
    scenario: { population: scenario.population, windows: scenario.windows, seed: scenario.seed, noise },
    strategies,
    decided: algorithms.length,
    fakeSotas,
    honestEvolutions,
    honestRejected,
    honestMisscored,
    honestMarkedDisagreeing: honestRows.reduce((s, r) => s + r.disagreements, 0),
    honestPayoutRatio: honestFair === 0 ? 1 : honestShare / honestFair,
  }
}
