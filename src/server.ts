/** Starts the Pool API or the standalone claim server: context, app, listen, graceful close. */
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { buildApp, buildClaimApp } from './app.ts'
import type { Config } from './config.ts'
import { EpochCloser } from './jobs/epoch-closer.ts'
import { createPoolContext, type PoolContext } from './services/context.ts'

export async function serve (config: Config): Promise<FastifyInstance> {
  const logger = pino({ level: config.logLevel })
  const pool = await createPoolContext(config, { log: logger })
  const app = await buildApp(pool, { logger })
  const closer = config.backgroundJobs ? new EpochCloser(pool, app.log) : undefined
  await listen(app, pool, config.apiHost, config.apiPort, async () => { await closer?.stop() })
  closer?.start()
  return app
}

export async function serveClaims (config: Config): Promise<FastifyInstance> {
  const logger = pino({ level: config.logLevel })
  const pool = await createPoolContext(config, { log: logger })
  const app = await buildClaimApp(pool, { logger })
  await listen(app, pool, config.merkleClaimHost, config.merkleClaimPort, async () => {})
  return app
}

async function listen (app: FastifyInstance, pool: PoolContext, host: string, port: number, beforeClose: () => Promise<void>): Promise<void> {
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after error')
    await beforeClose()
    await app.close()
    await pool.close()
  })
  await app.listen({ host, port })
}
