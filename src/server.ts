/** Starts the Pool API: context, app, listen, graceful close on SIGINT/SIGTERM. */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import type { Config } from './config.ts'
import { createPoolContext } from './services/context.ts'

export async function serve (config: Config): Promise<void> {
  const pool = await createPoolContext(config)
  const app = await buildApp(pool, { logger: { level: config.logLevel } })
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after error')
    await app.close()
    await pool.close()
  })
  await app.listen({ host: config.apiHost, port: config.apiPort })
}
