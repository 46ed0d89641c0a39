/**
 * Crash reliability run (`npm run test:crash`): one `sotapool serve` under signed simulated miners is
 * killed with SIGKILL in the middle of the load, restarted on the same database, and checked:
 *
 * - every submit acknowledged (200) before the kill is stored completely, once; a submit whose answer
 *   never came is stored whole or not at all; no evaluation rows hang off an active or expired lease;
 * - the leases that were active at the kill expire after LEASE_TTL_S (the background job marks them), and
 *   their evaluation slots are free again: a fresh miner can be handed those algorithms;
 * - the restarted pool is healthy and the miners carry on; the usual invariants (SPEC §5, §8, §11) hold,
 *   and every closed epoch passes `sotapool epoch verify`.
 *
 *   node --import tsx test/load/crash.ts [--store sqlite|postgres|both] [--miners 50] [--seconds 10] [--after 5] [--keep]
 *
 * Loopback only, bounded in time; exits non-zero when a check fails. Writes bench-results/crash.json.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signedHeaders } from '../../src/crypto/keys.ts'
import { openDatabase } from '../../src/db/database.ts'
import { evaluationCandidates } from '../../src/services/algorithms.ts'
import {
  checkInvariants,
  cliVerifyEpoch,
  createPostgresStore,
  createSqliteStore,
  freePort,
  LoadMiner,
  LoadRecorder,
  loadFigures,
  makeMiners,
  namedKey,
  parseFlags,
  printChecks,
  printFigures,
  runMiners,
  setRecipients,
  sleep,
  spawnServer,
  waitForHealth,
  writeJson,
  type Check,
  type LoadFigures,
  type Store,
} from './support.ts'

const flags = parseFlags(process.argv.slice(2), { store: 'both', miners: 50, seconds: 10, after: 5, keep: false })
if (!['sqlite', 'postgres', 'both'].includes(flags.store)) throw new Error('--store must be sqlite, postgres or both')
const LEASE_TTL_S = 10
const SAMPLE_SIZE = 3
const TASK_TYPE = 'cifar10_binary'

let currentLabel = 'crash'
const log = (line: string): void => {
  process.stdout.write(`[${currentLabel} ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

interface StoreRun {
  store: string
  ok: boolean
  checks: Check[]
  before_kill?: LoadFigures
  after_restart?: LoadFigures
  facts?: Record<string, unknown>
}

async function runOnce(kind: 'sqlite' | 'postgres'): Promise<StoreRun> {
  currentLabel = `crash/${kind}`
  const store: Store =
    kind === 'sqlite' ? createSqliteStore('sotapool-crash-') : await createPostgresStore('sotapool_crash')
  const logDir = mkdtempSync(join(tmpdir(), `sotapool-crash-${kind}-`))
  const env: Record<string, string> = {
    DATABASE_URL: store.url,
    LOG_LEVEL: 'warn',
    ENVIRONMENT: 'development',
    BLOCK_TIME_S: '1',
    WINDOW_BLOCKS: '10',
    EPOCH_WINDOWS: '2',
    LEASE_TTL_S: String(LEASE_TTL_S),
    JOB_INTERVAL_S: '1',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    BACKGROUND_JOBS: 'true',
    SUBTENSOR_CHAIN_ENDPOINT: '',
  }
  const checks: Check[] = []
  const run: StoreRun = { store: kind, ok: false, checks }
  const port = await freePort()
  let server = spawnServer(0, port, env, logDir)
  try {
    log(`store ${store.url}; logs in ${logDir}`)
    await waitForHealth(server)
    const recorder = new LoadRecorder()
    const miners = await makeMiners(flags.miners, [server.url], recorder, `crash-${kind}-`)
    const recipients = await setRecipients(miners, `crash-${kind}-`)
    log(
      `server up on ${port}; ${miners.length} miners, ${recipients} recipients set; load for ${flags.seconds} s, then kill -9`,
    )

    // Load, and kill -9 in the middle of it (requests in flight), then let every miner loop end.
    let stop = false
    const loadStart = Date.now()
    const loops = runMiners(miners, () => stop)
    await sleep(flags.seconds * 1000)
    const inFlightBefore = recorder.calls.length
    const pendingSubmits = recorder.attempts.filter((a) => a.status === 0).length
    await server.kill9()
    stop = true
    const killedAt = Date.now()
    await loops
    run.before_kill = loadFigures(recorder, (killedAt - loadStart) / 1000, miners.length)
    printFigures('before the kill', run.before_kill)
    const unanswered = recorder.unanswered()
    log(
      `killed mid-load: ${pendingSubmits} submits in flight at the kill, ${unanswered.length} never answered, ${recorder.calls.length - inFlightBefore} calls failed after the kill`,
    )
    checks.push({
      name: 'killed mid-load (requests in flight)',
      ok: recorder.calls.length > inFlightBefore,
      detail: `${recorder.calls.length - inFlightBefore} requests cut off, ${unanswered.length} of them submits`,
    })

    const database = openDatabase(store.url)
    try {
      const db = database.db
      // What the kill left behind, read from the store before the restart: every lease issued before the kill and
      // not submitted (including leases whose answer was lost with the connection, unknown to the miners).
      const acked = new Set(recorder.acknowledgements().map((a) => a.leaseId))
      const deadRows = await db
        .selectFrom('assignments')
        .select(['id', 'status', 'timeout_at', 'miner_hotkey'])
        .where('status', '!=', 'submitted')
        .where('issued_at', '<=', BigInt(killedAt))
        .execute()
      const deadItems = await db
        .selectFrom('assignment_items')
        .select(['assignment_id', 'algorithm_id'])
        .where('role', '=', 'evaluate')
        .where('assignment_id', 'in', deadRows.length > 0 ? deadRows.map((r) => r.id) : ['-'])
        .execute()
      const dead = deadRows.map((r) => ({
        leaseId: r.id,
        timeoutAt: Number(r.timeout_at),
        status: r.status,
        evaluateIds: deadItems.filter((i) => i.assignment_id === r.id).map((i) => Number(i.algorithm_id)),
      }))
      const granted = new Set(recorder.grants.map((g) => g.leaseId))
      const unknownToMiners = dead.filter((d) => !granted.has(d.leaseId)).length
      const storedUnanswered = unanswered.filter(
        (u) => !acked.has(u.leaseId) && !dead.some((d) => d.leaseId === u.leaseId),
      ).length
      const activeNow = dead.filter((d) => d.status === 'active').length
      log(
        `${recorder.grants.length} leases granted, ${acked.size} acknowledged, ${storedUnanswered} stored without an answer, ${dead.length} dead (${unknownToMiners} whose lease answer was lost; ${activeNow} still active after the kill)`,
      )

      const afterKill = await checkInvariants(db, {
        sampleSize: SAMPLE_SIZE,
        acknowledged: recorder.acknowledgements(),
        unanswered,
      })
      checks.push(...afterKill.map((c) => ({ ...c, name: `after the kill: ${c.name}` })))

      // Restart on the same database and port.
      server = spawnServer(1, port, env, logDir)
      const restartMs = await waitForHealth(server)
      const health = (await (await fetch(`${server.url}/health`)).json()) as {
        status: string
        window_number: number
        epoch: { current: number }
      }
      checks.push({
        name: 'restarted pool is healthy (/health 200)',
        ok: health.status === 'healthy',
        detail: `healthy after ${(restartMs / 1000).toFixed(1)} s, window ${health.window_number}, epoch ${health.epoch.current}`,
      })

      // Leases active at the kill expire after LEASE_TTL_S; the background job (every 1 s) marks them.
      const lastTimeout = Math.max(0, ...dead.map((d) => d.timeoutAt))
      const waitMs = lastTimeout - Date.now() + 3_000
      if (waitMs > 0) {
        log(`waiting ${Math.round(waitMs / 1000)} s for the dead leases to pass LEASE_TTL_S=${LEASE_TTL_S}`)
        await sleep(waitMs)
      }
      const after = new Map(
        (
          await db
            .selectFrom('assignments')
            .select(['id', 'status'])
            .where('id', 'in', dead.length > 0 ? dead.map((g) => g.leaseId) : ['-'])
            .execute()
        ).map((a) => [a.id, a.status]),
      )
      const notExpired = dead.filter((g) => after.get(g.leaseId) !== 'expired')
      checks.push({
        name: 'leases active at the kill expired after LEASE_TTL_S',
        ok: dead.length > 0 && notExpired.length === 0,
        detail:
          dead.length === 0
            ? 'no lease was left active by the kill (nothing to test)'
            : notExpired.length === 0
              ? `${dead.length} dead leases (${activeNow} still active after the kill) all marked expired by the background job`
              : `${notExpired.length}/${dead.length} not expired: ${notExpired
                  .slice(0, 3)
                  .map((g) => `${g.leaseId} ${String(after.get(g.leaseId))}`)
                  .join(', ')}`,
      })

      // Their evaluation slots are free: for a fresh miner, every dead-set algorithm still collecting
      // evaluations is a candidate again, and a lease hands at least one of them out.
      const deadSet = new Set(dead.flatMap((g) => g.evaluateIds))
      const open = (
        await db
          .selectFrom('algorithms')
          .select(['id', 'evaluation_count'])
          .where('state', '=', 'evaluating')
          .where('id', 'in', deadSet.size > 0 ? [...deadSet].map(BigInt) : [-1n])
          .execute()
      ).filter((a) => Number(a.evaluation_count) < SAMPLE_SIZE)
      const freshKey = await namedKey(`crash-${kind}-fresh-${Date.now()}`)
      const candidates = new Set(
        (
          await evaluationCandidates(db, {
            taskType: TASK_TYPE,
            miner: freshKey.address,
            sampleSize: SAMPLE_SIZE,
            nowMs: Date.now(),
            limit: 100_000,
          })
        ).map((a) => Number(a.id)),
      )
      const stillHeld = open.filter((a) => !candidates.has(Number(a.id)))
      const fresh = new LoadMiner(freshKey, server.url, 0, true, recorder)
      const lease = await fresh.lease({ eval_batch_size: 64 })
      const handed = lease === undefined ? [] : (lease.evaluate_algorithms as Array<{ id: number }>).map((a) => a.id)
      const reused = handed.filter((id) => deadSet.has(id))
      checks.push({
        name: "dead leases' evaluation slots are free again",
        ok: lease !== undefined && stillHeld.length === 0,
        detail:
          `${deadSet.size} algorithms in dead evaluate sets, ${open.length} still open: ${open.length - stillHeld.length} are candidates again` +
          `${
            stillHeld.length > 0
              ? ` (held: ${stillHeld
                  .slice(0, 5)
                  .map((a) => Number(a.id))
                  .join(',')})`
              : ''
          }; a fresh miner's lease ${lease === undefined ? 'was refused' : `got ${handed.length} algorithms, ${reused.length} from dead leases`}`,
      })
      if (lease !== undefined) {
        const evaluations = handed.map((id) => ({ algorithm_id: id, score: 0.5 }))
        const r = await fetchSubmit(fresh, lease.lease_id, evaluations)
        recorder.attempts.push({
          miner: fresh.hotkey,
          leaseId: lease.lease_id,
          server: 0,
          status: r.status,
          sentEvaluations: evaluations.length,
          sentEvolutions: 0,
          evaluationsAccepted: r.json?.evaluations_accepted,
          evolutionsAccepted: r.json?.evolutions_accepted,
          newAlgorithmIds: r.json?.new_algorithm_ids,
          at: Date.now(),
        })
      }

      // The miners carry on against the restarted pool.
      const fromCall = recorder.calls.length
      const acceptedBefore = recorder.attempts.filter((a) => a.status === 200).length
      stop = false
      const resumed = Date.now()
      await runMiners(miners, () => Date.now() - resumed >= flags.after * 1000)
      run.after_restart = loadFigures(recorder, (Date.now() - resumed) / 1000, miners.length, fromCall)
      printFigures('after the restart', run.after_restart)
      const acceptedAfter = recorder.attempts.filter((a) => a.status === 200).length - acceptedBefore
      const failures = recorder.calls.slice(fromCall).filter((c) => c.status === 0 || c.status >= 500).length
      checks.push({
        name: 'miners continue after the restart',
        ok: acceptedAfter > 0 && failures === 0,
        detail: `${acceptedAfter} submits accepted in ${flags.after} s, ${failures} 5xx/dropped`,
      })

      await server.stop(15_000)
      const verify = async (id: number) => await cliVerifyEpoch(id, { ...env, LOG_LEVEL: 'error' })
      const final = await checkInvariants(db, {
        sampleSize: SAMPLE_SIZE,
        acknowledged: recorder.acknowledgements(),
        unanswered: recorder.unanswered(),
        verifyEpoch: verify,
      })
      checks.push(...final.map((c) => ({ ...c, name: `final: ${c.name}` })))
      run.facts = {
        leases_granted: recorder.grants.length,
        acknowledged: recorder.acknowledgements().length,
        unanswered_at_kill: unanswered.length,
        stored_without_answer: storedUnanswered,
        dead_leases: dead.length,
        dead_lease_answer_lost: unknownToMiners,
        dead_active_after_kill: activeNow,
        dead_evaluate_algorithms: deadSet.size,
        restart_s: Math.round(restartMs / 100) / 10,
      }
    } finally {
      await database.close()
    }
  } catch (err) {
    checks.push({ name: 'run completed', ok: false, detail: (err as Error).stack ?? String(err) })
  } finally {
    await server.stop(5_000)
    if (flags.keep) log(`kept ${store.url}`)
    else
      await store.drop().catch((err: unknown) => {
        log(`could not drop ${store.url}: ${String(err)}`)
      })
  }
  printChecks(checks, `crash checks (${kind})`)
  run.ok = checks.every((c) => c.ok)
  if (run.ok) rmSync(logDir, { recursive: true, force: true })
  else log(`server logs kept in ${logDir}`)
  return run
}

async function fetchSubmit(
  miner: LoadMiner,
  leaseId: string,
  evaluations: Array<{ algorithm_id: number; score: number }>,
): Promise<{ status: number; json: any }> {
  try {
    const response = await fetch(`${miner.baseUrl}/api/v1/tasks/${leaseId}/submit_lease`, {
      method: 'POST',
      headers: { ...signedHeaders(miner.key, Math.floor(Date.now() / 1000)), 'content-type': 'application/json' },
      body: JSON.stringify({ evaluations, evolutions: [] }),
      signal: AbortSignal.timeout(30_000),
    })
    return { status: response.status, json: await response.json().catch(() => null) }
  } catch {
    return { status: 0, json: null }
  }
}

const startedAt = Date.now()
const stores = flags.store === 'both' ? (['sqlite', 'postgres'] as const) : [flags.store as 'sqlite' | 'postgres']
const watchdog = setTimeout(
  () => {
    process.stderr.write('crash run exceeded its time bound\n')
    process.exit(3)
  },
  stores.length * (flags.seconds + flags.after + 300) * 1000,
)
watchdog.unref()
const runs: StoreRun[] = []
for (const kind of stores) runs.push(await runOnce(kind))
clearTimeout(watchdog)
const ok = runs.every((r) => r.ok)
const file = writeJson('bench-results/crash.json', {
  name: 'crash',
  date: new Date().toISOString(),
  ok,
  seconds_total: Math.round((Date.now() - startedAt) / 100) / 10,
  options: {
    stores,
    miners: flags.miners,
    seconds_before_kill: flags.seconds,
    seconds_after_restart: flags.after,
    lease_ttl_s: LEASE_TTL_S,
    job_interval_s: 1,
    tempo: { block_time_s: 1, window_blocks: 10, epoch_windows: 2 },
  },
  runs,
})
currentLabel = 'crash'
log(
  `${ok ? 'PASS' : 'FAIL'}: ${runs.map((r) => `${r.store} ${r.checks.filter((c) => c.ok).length}/${r.checks.length}`).join(', ')}; wrote ${file}`,
)
process.exitCode = ok ? 0 : 1
