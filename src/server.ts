/** Starts the Pool API or the standalone claim server: context, app, listen, graceful close. */
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { pino, type Logger } from 'pino'
import { buildApp, buildClaimApp } from './app.ts'
import { isoTime } from './clock.ts'
import type { Config } from './config.ts'
import { BackgroundJobs } from './jobs/background-jobs.ts'
import { createPoolContext, type PoolContext } from './services/context.ts'

export async function serve(config: Config): Promise<FastifyInstance> {
  const logger = pino({ level: config.logLevel })
  const pool = await createPoolContext(config, { log: logger })
  const app = await buildApp(pool, { logger })
  const jobs = config.backgroundJobs ? new BackgroundJobs(pool, app.log) : undefined
  // Without the background jobs this process still follows a tempo change stored by `sotapool tempo set`.
  const tempoTimer =
    jobs === undefined
      ? setInterval(() => {
          pool.refreshTempo().catch((err: unknown) => {
            app.log.warn({ err }, 'could not re-read the stored tempo')
          })
        }, config.jobIntervalS * 1000)
      : undefined
  logStart(logger, 'Pool API', pool, config.apiHost, config.apiPort)
  await listen(app, pool, config.apiHost, config.apiPort, async () => {
    clearInterval(tempoTimer)
    await jobs?.stop()
  })
  jobs?.start()
  return app
}

export async function serveClaims(config: Config): Promise<FastifyInstance> {
  const logger = pino({ level: config.logLevel })
  const pool = await createPoolContext(config, { log: logger })
  const app = await buildClaimApp(pool, { logger })
  logStart(logger, 'claim server', pool, config.merkleClaimHost, config.merkleClaimPort)
  await listen(app, pool, config.merkleClaimHost, config.merkleClaimPort, async () => {})
  return app
}

/** One line with the effective configuration an operator needs to recognise the process (no secrets). */
export function startLine(
  what: string,
  pool: PoolContext,
  host: string,
  port: number,
): { fields: Record<string, unknown>; message: string } {
  const { config, tempo } = pool
  const blockSource = config.chainEndpoint === '' ? 'clock' : `chain ${config.chainEndpoint}`
  const claimApp = config.merkleClaimEnabled ? `mounted at ${config.merkleClaimPathPrefix}` : 'not mounted'
  const fields = {
    listen: `${host}:${port}`,
    environment: config.environment,
    database: pool.database.label,
    tempo: {
      block_time_s: tempo.blockTimeS,
      window_blocks: tempo.windowBlocks,
      epoch_windows: tempo.epochWindows,
      genesis: isoTime(pool.genesisMs),
    },
    block_source: blockSource,
    claim_app: claimApp,
    background_jobs: config.backgroundJobs,
  }
  const message =
    `sotapool ${what} on ${host}:${port}: environment ${config.environment}, database ${pool.database.label}, ` +
    `tempo ${tempo.blockTimeS} s/block, ${tempo.windowBlocks} blocks/window, ${tempo.epochWindows} windows/epoch, genesis ${isoTime(pool.genesisMs) ?? '?'}, ` +
    `blocks from ${blockSource}, claim app ${claimApp}, background jobs ${config.backgroundJobs ? 'on' : 'off'}`
  return { fields, message }
}

function logStart(logger: Logger, what: string, pool: PoolContext, host: string, port: number): void {
  const { fields, message } = startLine(what, pool, host, port)
  logger.info(fields, message)
  if (pool.database.label === 'sqlite::memory:')
    logger.warn('the database is in memory (DATABASE_URL=sqlite::memory:): everything is lost when the process exits')
}

async function listen(
  app: FastifyInstance,
  pool: PoolContext,
  host: string,
  port: number,
  beforeClose: () => Promise<void>,
): Promise<void> {
  closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after error')
    else app.log.info({ signal }, `shutting down on ${signal ?? 'request'}: finishing in-flight requests`)
    const started = Date.now()
    await beforeClose()
    await app.close()
    await pool.close()
    app.log.info({ ms: Date.now() - started }, 'shut down cleanly')
  })
  await app.listen({ host, port })
}
