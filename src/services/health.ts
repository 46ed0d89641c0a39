/** The health report of SPEC §10.1: tempo, epochs, database, on-chain runtime. */
import { isoTime } from '../clock.ts'
import { chainIsStale } from '../domain/alerts.ts'
import type { PoolContext } from './context.ts'
import { VERSION } from '../version.ts'

export async function healthReport(pool: PoolContext) {
  const window = pool.currentWindow()
  const chain = pool.blocks.status()
  const databaseOk = await pool.database.ping()
  const lastClosed = databaseOk
    ? await pool.database.db
        .selectFrom('epochs')
        .select((eb) => eb.fn.max('epoch_id').as('id'))
        .executeTakeFirst()
        .catch(() => undefined)
    : undefined
  // A configured chain that has given no block for CHAIN_STALE_MS makes the pool degraded.
  const chainStale = chainIsStale(chain, pool.clock.now())
  // Payouts stop while an epoch stays unclosed: that is not healthy, whatever the cause.
  const overdue = databaseOk ? await pool.epochs.overdue().catch(() => []) : []
  const healthy = databaseOk && !chainStale && overdue.length === 0
  return {
    healthy,
    body: {
      status: healthy ? ('healthy' as const) : ('degraded' as const),
      window_number: window.windowNumber,
      current_block: window.block,
      time_remaining_s: window.timeRemainingS,
      tempo: {
        window_blocks: pool.tempo.windowBlocks,
        window_start_block: window.windowStartBlock,
        window_end_block: window.windowEndBlock,
        block_time_s: pool.tempo.blockTimeS,
        epoch_windows: pool.tempo.epochWindows,
        source: chain.source,
        chain_connected: chain.connected,
        last_block_at: isoTime(chain.lastBlockAt),
      },
      epoch: {
        current: pool.currentEpoch(),
        last_closed: lastClosed?.id === null || lastClosed?.id === undefined ? null : Number(lastClosed.id),
        overdue,
      },
      database: { ok: databaseOk, dialect: pool.database.dialect },
      onchain_runtime: {
        // Roots are published off chain through the claim API; no contract is read or written.
        enabled: false,
        contract_status: { active_veto_count: 0, is_veto_active: false, claim_ready: false, read_error: null },
        proof_api: { enabled: pool.config.merkleClaimEnabled },
        accounts: { publisher: null },
        processes: [...pool.processes.entries()].map(([name, running]) => ({ name, running })),
        verifier_diagnostics: { verifier_count: pool.config.verifierHotkeys.length },
      },
      version: VERSION,
    },
  }
}
