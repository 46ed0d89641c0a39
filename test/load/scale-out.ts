/**
 * Scale-out reliability run (`npm run test:scale`): several `sotapool serve` processes on one fresh
 * PostgreSQL database, each running the background jobs, under signed simulated miners spread
 * round-robin across them. After the load, the epoch in progress is waited for (closed by the servers
 * themselves), the servers are stopped, and the database is checked against every acknowledged submit
 * and the invariants of SPEC §5, §8 and §11. Exits non-zero when a check fails.
 *
 *   node --import tsx test/load/scale-out.ts [--miners 200] [--seconds 60] [--processes 2] [--keep]
 *
 * Fast tempo: 1 s blocks, 10-block windows, 2-window epochs (an epoch every 20 s). Loopback only; the
 * whole run is bounded (load + at most one epoch + checks; a watchdog ends it otherwise).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/database.ts'
import {
  checkInvariants,
  cliVerifyEpoch,
  createPostgresStore,
  freePort,
  LoadRecorder,
  loadFigures,
  makeMiners,
  parseFlags,
  poolTime,
  printChecks,
  printFigures,
  runCli,
  runMiners,
  setRecipients,
  sleep,
  spawnServer,
  waitForHealth,
  writeJson,
  type Check,
  type ServerProcess,
} from './support.ts'

const flags = parseFlags(process.argv.slice(2), { miners: 200, seconds: 60, processes: 2, keep: false })
const TEMPO = { blockTimeS: 1, windowBlocks: 10, epochWindows: 2 }
const log = (line: string): void => {
  process.stdout.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

async function main(): Promise<number> {
  const startedAt = Date.now()
  const store = await createPostgresStore('sotapool_scale')
  const logDir = mkdtempSync(join(tmpdir(), 'sotapool-scale-'))
  const baseEnv: Record<string, string> = {
    DATABASE_URL: store.url,
    LOG_LEVEL: 'warn',
    ENVIRONMENT: 'development',
    BLOCK_TIME_S: String(TEMPO.blockTimeS),
    WINDOW_BLOCKS: String(TEMPO.windowBlocks),
    EPOCH_WINDOWS: String(TEMPO.epochWindows),
    LEASE_TTL_S: '30',
    JOB_INTERVAL_S: '1',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    BACKGROUND_JOBS: 'true',
    SUBTENSOR_CHAIN_ENDPOINT: '',
  }
  const servers: ServerProcess[] = []
  const checks: Check[] = []
  let result: Record<string, unknown> = {}
  const cleanup = async (): Promise<void> => {
    await Promise.all(
      servers.map(async (s) => {
        await s.stop(5_000)
      }),
    )
    if (flags.keep) log(`kept database ${store.url}`)
    else
      await store.drop().catch((err: unknown) => {
        log(`could not drop ${store.url}: ${String(err)}`)
      })
  }
  // Bounded in time whatever happens: load + one epoch + start-up and checks.
  const watchdog = setTimeout(
    () => {
      log('watchdog: run exceeded its time bound; stopping servers')
      void cleanup().finally(() => process.exit(3))
    },
    (flags.seconds + 240) * 1000,
  )
  watchdog.unref()
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130))
  })

  try {
    log(`database ${store.url}; logs in ${logDir}`)
    // All processes start together: migrations and seeding race as they would in a real deployment.
    const ports = await Promise.all(Array.from({ length: flags.processes }, async () => await freePort()))
    for (const [i, port] of ports.entries()) servers.push(spawnServer(i, port, baseEnv, logDir))
    const startMs = await Promise.all(servers.map(async (s) => await waitForHealth(s)))
    log(
      `${servers.length} servers healthy on ports ${ports.join(', ')} (start ${startMs.map((m) => `${(m / 1000).toFixed(1)} s`).join(', ')})`,
    )

    const recorder = new LoadRecorder()
    const miners = await makeMiners(
      flags.miners,
      servers.map((s) => s.url),
      recorder,
      'scale',
    )
    const recipients = await setRecipients(miners, 'scale')
    log(`${miners.length} miners (${miners.filter((m) => !m.honest).length} dishonest), ${recipients} recipients set`)
    checks.push({
      name: 'every miner set its recipient coldkey',
      ok: recipients === miners.length,
      detail: `${recipients}/${miners.length}`,
    })

    const fromCall = recorder.calls.length
    const loadStart = Date.now()
    const deadline = loadStart + flags.seconds * 1000
    const progress = setInterval(() => {
      const accepted = recorder.attempts.filter((a) => a.status === 200).length
      log(`load ${Math.round((Date.now() - loadStart) / 1000)} s: ${accepted} submits accepted`)
    }, 10_000)
    await runMiners(miners, () => Date.now() >= deadline)
    clearInterval(progress)
    const loadSeconds = (Date.now() - loadStart) / 1000
    const figures = loadFigures(recorder, loadSeconds, miners.length, fromCall)
    printFigures('load', figures)

    // Wait for the epoch in progress to end and be closed by the servers' own background job.
    const database = openDatabase(store.url)
    let closedByServers = false
    let targetEpoch = -1
    try {
      const t = await poolTime(database.db, TEMPO)
      targetEpoch = t.epoch
      const waitUntil = t.epochEndMs(targetEpoch) + 20_000
      log(
        `load stopped in epoch ${targetEpoch}; waiting for it to end (${Math.max(0, Math.round((t.epochEndMs(targetEpoch) - Date.now()) / 1000))} s) and close`,
      )
      while (Date.now() < waitUntil) {
        const last = await database.db
          .selectFrom('epochs')
          .select((eb) => eb.fn.max('epoch_id').as('id'))
          .executeTakeFirst()
        if (last?.id !== null && last?.id !== undefined && Number(last.id) >= targetEpoch) {
          closedByServers = true
          break
        }
        await sleep(500)
      }
    } finally {
      await database.close()
    }
    checks.push({
      name: 'servers closed the last epoch themselves',
      ok: closedByServers,
      detail: closedByServers
        ? `epoch ${targetEpoch} closed by a background job`
        : `epoch ${targetEpoch} not closed within 20 s of its end`,
    })

    const exits = await Promise.all(
      servers.map(async (s) => {
        await s.stop(15_000)
        return await s.exited
      }),
    )
    const graceful = exits.every((e) => e.signal !== 'SIGKILL')
    checks.push({
      name: 'servers stop gracefully on SIGTERM',
      ok: graceful,
      detail: exits.map((e, i) => `server ${i}: ${e.signal ?? `exit ${String(e.code)}`}`).join(', '),
    })
    const cliEnv = { ...baseEnv, LOG_LEVEL: 'error' }
    if (!closedByServers) {
      const r = await runCli(['epoch', 'close'], cliEnv)
      log(`sotapool epoch close: exit ${String(r.code)} ${r.stdout.replace(/\s+/g, ' ').trim()}`)
    }

    const serverErrors = recorder.calls.filter((c) => c.status === 0 || c.status >= 500)
    checks.push({
      name: 'no 5xx and no dropped connection under load',
      ok: serverErrors.length === 0,
      detail:
        serverErrors.length === 0
          ? `${recorder.calls.length} requests answered`
          : `${serverErrors.length} failed: ${[...new Set(serverErrors.map((c) => `${c.route} ${c.status} ${String(c.code)}`))].slice(0, 5).join(', ')}`,
    })
    const spread = servers.map((s) => recorder.attempts.filter((a) => a.status === 200 && a.server === s.index).length)
    checks.push({
      name: 'every process served accepted submits',
      ok: spread.every((c) => c > 0),
      detail: spread.map((c, i) => `server ${i}: ${c}`).join(', '),
    })

    // Every closed epoch through `sotapool epoch verify`, three at a time (each is a process of its own).
    const checkDb = openDatabase(store.url)
    try {
      const epochIds = (await checkDb.db.selectFrom('epochs').select('epoch_id').orderBy('epoch_id').execute()).map(
        (e) => Number(e.epoch_id),
      )
      const verified = new Map<number, { ok: boolean; detail: string }>()
      for (let i = 0; i < epochIds.length; i += 3) {
        await Promise.all(
          epochIds.slice(i, i + 3).map(async (id) => {
            verified.set(id, await cliVerifyEpoch(id, cliEnv))
          }),
        )
      }
      checks.push(
        ...(await checkInvariants(checkDb.db, {
          sampleSize: 3,
          acknowledged: recorder.acknowledgements(),
          unanswered: recorder.unanswered(),
          verifyEpoch: async (id) => verified.get(id) ?? { ok: false, detail: 'not verified' },
        })),
      )
      const paid = await checkDb.db.selectFrom('epochs').select('epoch_id').where('epoch_units', '>', 0n).execute()
      checks.push({
        name: 'load produced paid epochs',
        ok: paid.length > 0 && figures.submissions > 0,
        detail: `${figures.submissions} submits accepted, ${paid.length}/${epochIds.length} closed epochs with payouts`,
      })
      const counts = {
        algorithms: Number(
          (
            await checkDb.db
              .selectFrom('algorithms')
              .select((eb) => eb.fn.countAll<bigint>().as('c'))
              .executeTakeFirstOrThrow()
          ).c,
        ),
        evaluations: Number(
          (
            await checkDb.db
              .selectFrom('evaluations')
              .select((eb) => eb.fn.countAll<bigint>().as('c'))
              .executeTakeFirstOrThrow()
          ).c,
        ),
        assignments: Number(
          (
            await checkDb.db
              .selectFrom('assignments')
              .select((eb) => eb.fn.countAll<bigint>().as('c'))
              .executeTakeFirstOrThrow()
          ).c,
        ),
        closed_windows: Number(
          (
            await checkDb.db
              .selectFrom('window_closes')
              .select((eb) => eb.fn.countAll<bigint>().as('c'))
              .executeTakeFirstOrThrow()
          ).c,
        ),
        closed_epochs: epochIds.length,
      }
      result = { figures, counts, per_server_accepted: spread }
    } finally {
      await checkDb.close()
    }
  } catch (err) {
    checks.push({ name: 'run completed', ok: false, detail: (err as Error).stack ?? String(err) })
  } finally {
    clearTimeout(watchdog)
    await cleanup()
  }

  printChecks(checks, 'scale-out checks')
  const ok = checks.every((c) => c.ok)
  if (ok) rmSync(logDir, { recursive: true, force: true })
  else log(`server logs kept in ${logDir}`)
  const file = writeJson('bench-results/scale-out.json', {
    name: 'scale-out',
    date: new Date().toISOString(),
    ok,
    seconds_total: Math.round((Date.now() - startedAt) / 100) / 10,
    options: {
      miners: flags.miners,
      seconds: flags.seconds,
      processes: flags.processes,
      store: 'postgres',
      tempo: TEMPO,
      lease_ttl_s: 30,
      job_interval_s: 1,
    },
    ...result,
    checks,
  })
  log(`${ok ? 'PASS' : 'FAIL'}: ${checks.filter((c) => c.ok).length}/${checks.length} checks passed; wrote ${file}`)
  return ok ? 0 : 1
}

process.exitCode = await main()
