/**
 * Operator commands on a running pool's database: bans (`miner ban|unban|show`, `miner bans`),
 * `leases`, `maintenance on|off|status`, `backup` and `prune`.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { InvalidArgumentError, type Command } from 'commander'
import { ASSIGNMENT_STATUSES, type AssignmentStatus } from '../domain/work.ts'
import { configOrExit, parseInteger, print, verifyAll, withPool } from './common.ts'

async function hotkeyArgument(value: string): Promise<string> {
  const { cryptoReady, decodeHotkey } = await import('../crypto/sr25519.ts')
  await cryptoReady()
  const decoded = decodeHotkey(value.trim())
  if ('error' in decoded) throw new Error(`${value} is not an SS58 hotkey with prefix 42 (${decoded.error})`)
  return value.trim()
}

export function registerOperatorCommands(program: Command): void {
  const miner = program.command('miner').description('Inspect, ban and unban miners (bans are per hotkey)')
  miner
    .command('show')
    .description("A miner's reputation, credit, recipient, active assignment, trust (vote weight) and ban")
    .argument('<hotkey>', 'SS58 hotkey')
    .action(async (hotkey: string) => {
      const key = await hotkeyArgument(hotkey)
      await withPool(async (pool) => {
        const { epochWindows } = await import('../domain/tempo.ts')
        const stats = await pool.miners.stats(key, epochWindows(pool.currentEpoch(), pool.tempo), pool.clock.now())
        const { voteWeighting, trustPrior } = pool.config
        print({
          ...stats,
          trust: await pool.miners.trust(key, voteWeighting, trustPrior),
          banned: await pool.controls.banOf(key),
        })
      })
    })
  miner
    .command('ban')
    .description(
      'Refuse every signed request of a hotkey (403) and expire its active assignment; its credit so far stays claimable',
    )
    .argument('<hotkey>', 'SS58 hotkey')
    .requiredOption('--reason <text>', 'why (shown to the miner in the 403)')
    .action(async (hotkey: string, opts: { reason: string }) => {
      const key = await hotkeyArgument(hotkey)
      if (opts.reason.trim() === '') throw new Error('--reason must not be empty')
      await withPool(async (pool) => {
        const added = await pool.controls.ban(key, opts.reason.trim())
        print({
          hotkey: key,
          banned: true,
          note: added ? 'banned now' : 'was already banned (reason updated)',
          ban: await pool.controls.banOf(key),
        })
      })
    })
  miner
    .command('unban')
    .description("Lift a hotkey's ban")
    .argument('<hotkey>', 'SS58 hotkey')
    .action(async (hotkey: string) => {
      const key = await hotkeyArgument(hotkey)
      await withPool(async (pool) => {
        const removed = await pool.controls.unban(key)
        print({ hotkey: key, banned: false, note: removed ? 'unbanned now' : 'was not banned' })
      })
    })
  miner
    .command('bans')
    .description('List banned hotkeys')
    .action(async () => {
      await withPool(async (pool) => {
        print({ bans: await pool.controls.listBans() })
      })
    })

  program
    .command('leases')
    .description('Leases and batches, newest first (active and overdue ones by default)')
    .option('--miner <hotkey>', "only this miner's")
    .option(
      '--status <status>',
      'active, submitted or expired (default active)',
      (v: string) => {
        if (v !== 'all' && !(ASSIGNMENT_STATUSES as readonly string[]).includes(v))
          throw new InvalidArgumentError(`--status must be ${ASSIGNMENT_STATUSES.join(', ')} or all`)
        return v
      },
      'active',
    )
    .option('--limit <n>', 'at most this many', parseInteger('--limit', 1), 100)
    .action(async (opts: { miner?: string; status: string; limit: number }) => {
      const minerKey = opts.miner === undefined ? undefined : await hotkeyArgument(opts.miner)
      await withPool(async (pool) => {
        const { listLeases } = await import('../services/leases.ts')
        const leases = await listLeases(pool.database, {
          nowMs: pool.clock.now(),
          limit: opts.limit,
          ...(minerKey === undefined ? {} : { miner: minerKey }),
          ...(opts.status === 'all' ? {} : { status: opts.status as AssignmentStatus }),
        })
        print({ count: leases.length, leases })
      })
    })

  const maintenance = program
    .command('maintenance')
    .description('Maintenance mode: signed writes answer 503 with Retry-After, reads keep working')
  maintenance
    .command('on')
    .description('Turn maintenance mode on for every process on this database')
    .option('--retry-after <seconds>', 'Retry-After sent to miners', parseInteger('--retry-after', 1), 300)
    .option('--message <text>', 'shown to miners in the 503', '')
    .action(async (opts: { retryAfter: number; message: string }) => {
      await withPool(async (pool) => {
        print({
          maintenance: await pool.controls.setMaintenance(true, opts.retryAfter, opts.message.trim()),
          note: 'in force in every process within 2 s',
        })
      })
    })
  maintenance
    .command('off')
    .description('Turn maintenance mode off')
    .action(async () => {
      await withPool(async (pool) => {
        print({ maintenance: await pool.controls.setMaintenance(false) })
      })
    })
  maintenance
    .command('status')
    .description('Whether maintenance mode is on')
    .action(async () => {
      await withPool(async (pool) => {
        print({ maintenance: await pool.controls.maintenanceState() })
      })
    })

  program
    .command('backup')
    .description(
      'SQLite: an online backup to FILE, then every closed epoch verified in the copy. PostgreSQL: pg_dump --format=custom to FILE',
    )
    .argument('<file>', 'where to write the backup (must not exist)')
    .action(async (file: string) => {
      if (existsSync(file)) throw new Error(`${file} exists already; a backup never overwrites`)
      const config = configOrExit()
      if (!config.databaseUrl.startsWith('sqlite:')) {
        await pgDump(config.databaseUrl, file)
        process.stderr.write(
          `wrote ${file}; check it with: createdb <scratch> && pg_restore --no-owner -d <scratch-url> ${file} && DATABASE_URL=<scratch-url> sotapool epoch verify --all\n`,
        )
        return
      }
      const started = Date.now()
      await withPool(async (pool) => {
        await pool.database.backup!(file)
      })
      const { createPoolContext } = await import('../services/context.ts')
      const copy = await createPoolContext(
        { ...config, databaseUrl: `sqlite:${file}`, adoptStoredTempo: true, backgroundJobs: false },
        { createDatabase: false },
      )
      try {
        const verified = await verifyAll(copy)
        print({ file, ms: Date.now() - started, restore_check: verified })
        if (!verified.ok) process.exitCode = 1
      } finally {
        await copy.close()
      }
    })

  program
    .command('prune')
    .description(
      'Delete evaluations older than the horizon whose epoch has closed (never what an open epoch or epoch verify needs)',
    )
    .option('--days <n>', 'horizon in days (default RETENTION_DAYS)', parseInteger('--days'))
    .option('--dry-run', 'count what would be deleted')
    .action(async (opts: { days?: number; dryRun?: boolean }) => {
      await withPool(async (pool) => {
        const days = opts.days ?? pool.config.retentionDays
        if (days === 0 && opts.days === undefined)
          throw new Error('RETENTION_DAYS is 0 (keep everything): give --days N')
        const { pruneEvaluations } = await import('../services/retention.ts')
        print(await pruneEvaluations(pool, days, opts.dryRun === true))
      })
    })
}

async function pgDump(url: string, file: string): Promise<void> {
  const { redactUrl } = await import('../db/database.ts')
  const { pgToolFor } = await import('../db/pg-tools.ts')
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: url })
  let serverMajor: number
  try {
    await client.connect()
    const { rows } = await client.query<{ v: string }>("select current_setting('server_version_num') as v")
    serverMajor = Math.floor(Number(rows[0]?.v) / 10000)
  } catch (err) {
    throw new Error(`cannot reach the database at ${redactUrl(url)} (DATABASE_URL): ${(err as Error).message}`)
  } finally {
    await client.end().catch(() => {})
  }
  const tool = await pgToolFor('pg_dump', serverMajor)
  await new Promise<void>((resolve, reject) => {
    const child = spawn(tool.path, ['--format=custom', `--file=${file}`, url], { stdio: ['ignore', 'inherit', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('error', (err) => {
      reject(
        new Error(
          `cannot run ${tool.path} (${err.message}); install the PostgreSQL client tools, or run pg_dump on the database server`,
        ),
      )
    })
    child.on('close', (code) => {
      if (code === 0) resolve()
      else
        reject(
          new Error(
            `pg_dump of ${redactUrl(url)} failed (exit ${code}): ${stderr.trim().split(url).join(redactUrl(url))}`,
          ),
        )
    })
  })
}
