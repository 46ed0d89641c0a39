/**
 * Wires the pool's services over one database, one clock and one block source. Built once per process
 * (or per test) and handed to the HTTP app, the CLI and the background jobs alike.
 */
import { ClockBlockSource, type BlockSource } from '../chain/block-source.ts'
import { ChainBlockSource } from '../chain/chain-source.ts'
import { systemClock, type Clock } from '../clock.ts'
import type { Config } from '../config.ts'
import { openDatabase, type Database } from '../db/database.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { createVerifier, type SignatureVerifier } from '../crypto/verifier.ts'
import { createMetrics, type PoolMetrics } from '../metrics.ts'
import { epochOfWindow, windowInfo, type Tempo, type WindowInfo } from '../domain/tempo.ts'
import { loadSeeds, randomDraw } from './algorithms.ts'
import { ClaimService } from './claims.ts'
import { EpochService } from './epochs.ts'
import { MinerService } from './miners.ts'
import { ResultService } from './results.ts'
import { WindowService } from './windows.ts'
import { WorkService } from './work.ts'
import { getMeta, initMeta, setMeta } from './pool-meta.ts'
import { OperatorControls } from './operator-controls.ts'
import { SignatureLedger } from './signatures.ts'
import { sotaByTaskType } from './sota.ts'
import { adoptedTempoWarning, checkTempo, configuredTempo, initTempo, readTempo } from './tempo.ts'

export interface PoolContext {
  config: Config
  clock: Clock
  database: Database
  blocks: BlockSource
  /** The stored tempo (schedule included); `refreshTempo` picks up a change another process stored. */
  tempo: Tempo
  /** Unix ms of block 0 (stored at first start). */
  genesisMs: number
  refreshTempo(): Promise<void>
  miners: MinerService
  signatures: SignatureLedger
  verifier: SignatureVerifier
  metrics: PoolMetrics
  work: WorkService
  windows: WindowService
  results: ResultService
  epochs: EpochService
  claims: ClaimService
  /** Bans and maintenance mode, as the operator set them. */
  controls: OperatorControls
  /** Background processes of this server and whether each is running (shown by /health). */
  processes: Map<string, boolean>
  /** The window the pool is in now. */
  currentWindow(): WindowInfo
  currentEpoch(): number
  sotaByTaskType(): Promise<Record<string, number>>
  close(): Promise<void>
}

export interface ContextOptions {
  clock?: Clock
  /** Source of the secret assignment draws (default: the system's cryptographic randomness). */
  draws?: () => bigint
  database?: Database
  /** Replaces the clock block source (the chain source, or a test double). */
  blocks?: (genesisMs: number) => BlockSource
  log?: ChainLog
  /** Create a missing SQLite database (default true; the CLI allows it only for `serve` and `migrate`). */
  createDatabase?: boolean
}

type ChainLog = { warn(obj: object, msg: string): void; info(obj: object, msg: string): void }

/** The chain when SUBTENSOR_CHAIN_ENDPOINT is set, else the clock counting from the stored genesis. */
async function defaultBlockSource(
  config: Config,
  clock: Clock,
  database: Database,
  tempo: Tempo,
  log?: ChainLog,
): Promise<BlockSource> {
  if (config.chainEndpoint === '') return new ClockBlockSource(clock, tempo)
  const block = await getMeta(database.db, 'chain_block')
  const at = await getMeta(database.db, 'chain_block_at')
  const source = new ChainBlockSource({
    endpoint: config.chainEndpoint,
    clock,
    blockTimeS: tempo.blockTimeS,
    ...(block !== undefined && at !== undefined ? { lastKnown: { block: Number(block), atMs: Number(at) } } : {}),
    remember: async (b, atMs) => {
      await setMeta(database.db, 'chain_block', String(b))
      await setMeta(database.db, 'chain_block_at', String(atMs))
    },
    ...(log === undefined ? {} : { log }),
  })
  await source.start()
  return source
}

export async function createPoolContext(config: Config, options: ContextOptions = {}): Promise<PoolContext> {
  const clock = options.clock ?? systemClock
  const database =
    options.database ??
    openDatabase(config.databaseUrl, { create: options.createDatabase ?? true, poolSize: config.databasePoolSize })
  try {
    await migrateToLatest(database, (migration, notes) =>
      options.log?.warn({ migration, changes: notes }, `migration ${migration} changed stored data`),
    )
    const genesisMs = Number(await initMeta(database.db, 'genesis_ms', String(clock.now())))
    const tempo = await initTempo(database.db, configuredTempo(config), genesisMs)
    const adopted = checkTempo(tempo, configuredTempo(config), config.adoptStoredTempo)
    if (adopted.length > 0) options.log?.warn({ adopted }, adoptedTempoWarning(adopted))
    const blocks =
      options.blocks?.(genesisMs) ?? (await defaultBlockSource(config, clock, database, tempo, options.log))
    const now = (): number => clock.now()
    const draw = options.draws ?? randomDraw
    const windowNow = (): number => windowInfo(blocks.currentBlock(), tempo).windowNumber
    const metrics = createMetrics()
    await initMeta(database.db, 'first_window', String(windowNow()))
    await loadSeeds(database, config.taskTypes, config.seedDir, now(), windowNow(), draw)
    const windows = new WindowService(database, config, metrics, now, windowNow)
    const signatures = new SignatureLedger(database)
    const verifier = await createVerifier(config.authVerifyThreads)
    const context: PoolContext = {
      config,
      clock,
      database,
      blocks,
      tempo,
      genesisMs,
      async refreshTempo() {
        // In place: the services and the block source hold this same object.
        const stored = await readTempo(database.db)
        if (stored !== undefined) Object.assign(tempo, stored)
      },
      miners: new MinerService(database, draw, signatures),
      signatures,
      verifier,
      metrics,
      work: new WorkService(database, config, metrics, now, windowNow, draw),
      windows,
      results: new ResultService(database, config.verifierHotkeys, now),
      epochs: new EpochService(database, config, tempo, windows, metrics, now, () => blocks.currentBlock()),
      claims: new ClaimService(database, now, { proofCacheBytes: config.proofCacheMb * 1024 * 1024, metrics }),
      controls: new OperatorControls(database, now),
      processes: new Map(),
      currentWindow: () => windowInfo(blocks.currentBlock(), tempo),
      currentEpoch: () => epochOfWindow(context.currentWindow().windowNumber, tempo),
      sotaByTaskType: async () => await sotaByTaskType(database.db, config.taskTypes),
      async close() {
        await verifier.close()
        await blocks.close()
        await database.close()
      },
    }
    return context
  } catch (err) {
    await database.close()
    if (err instanceof Error && err.name !== 'TempoDriftError' && !err.message.includes(database.label)) {
      // Driver errors (ECONNREFUSED, "database does not exist") do not say which database they mean.
      err.message = `${database.label}: ${err.message}`
    }
    throw err
  }
}
