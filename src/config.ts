/**
 * The one place that knows every configuration variable: its type, default, bounds and meaning.
 * Values come from the environment (and an optional `.env`, loaded by the CLI before this runs) and are
 * validated once; a bad value stops start-up with a message naming the variable.
 * The README's configuration table is generated from `CONFIG_VARIABLES` (`npm run docs:tables`).
 */
import { accessSync, constants, statSync } from 'node:fs'
import { decodeHotkey } from './crypto/sr25519.ts'
import { EVOLVER_BASELINES, REPETITION_SCOPES } from './domain/points.ts'
import { isTaskTypeName } from './domain/task-types.ts'

const ENVIRONMENTS = ['development', 'production'] as const
export type Environment = (typeof ENVIRONMENTS)[number]
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export interface ConfigProblem {
  variable: string
  reason: string
}

/** Every bad value at once, so one start names them all; `variable` is the first. */
export class ConfigError extends Error {
  readonly variable: string
  readonly problems: ConfigProblem[]

  constructor(variable: string, reason: string, more: ConfigProblem[] = []) {
    const problems = [{ variable, reason }, ...more]
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.reason}`).join('; ')}`)
    this.name = 'ConfigError'
    this.variable = variable
    this.problems = problems
  }
}

type Env = Record<string, string | undefined>

interface Variable<T> {
  name: string
  default: string
  description: string
  parse: (raw: string, env: Env) => T
}

const integer =
  (min: number, max: number) =>
  (raw: string): number => {
    if (!/^-?\d+$/.test(raw)) throw new Error(`must be an integer, got "${raw}"`)
    const value = Number(raw)
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new Error(`must be between ${min} and ${max}, got ${raw}`)
    return value
  }

const decimal =
  (min: number, max: number) =>
  (raw: string): number => {
    const value = Number(raw)
    if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new Error(`must be a number between ${min} and ${max}, got "${raw}"`)
    }
    return value
  }

const units = (raw: string): bigint => {
  if (!/^\d+$/.test(raw)) throw new Error(`must be a non-negative integer number of units, got "${raw}"`)
  const value = BigInt(raw)
  // Stored as BIGINT (signed 64-bit) like every amount, so it must stay below 2^63.
  if (value >= 2n ** 63n) throw new Error('must be below 2^63 (amounts are stored as BIGINT)')
  return value
}

const boolean = (raw: string): boolean => {
  const v = raw.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(v)) return true
  if (['false', '0', 'no', 'off'].includes(v)) return false
  throw new Error(`must be true or false, got "${raw}"`)
}

const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string): T => {
    if (!(values as string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`)
    return raw as T
  }

const text = (raw: string): string => raw

const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)

const taskTypes = (raw: string): string[] => {
  const values = list(raw)
  if (values.length === 0) throw new Error('must name at least one task type')
  for (const v of values) if (!isTaskTypeName(v)) throw new Error(`has an invalid task type "${v}" (use a-z, 0-9, _)`)
  return values
}

const pathPrefix = (raw: string): string => {
  if (!/^\/[A-Za-z0-9_\-/]*$/.test(raw) || raw.endsWith('/') || raw.includes('//')) {
    throw new Error(`must look like /claims (leading slash, no trailing slash), got "${raw}"`)
  }
  return raw
}

const databaseUrl = (raw: string): string => {
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(raw)) {
    throw new Error(`must start with sqlite: or postgres://, got "${raw}"`)
  }
  // An empty SQLite path used to mean "in memory": data lost at exit must be asked for by name.
  if (raw === 'sqlite:')
    throw new Error(
      'names no SQLite file: use sqlite:<file>, or sqlite::memory: for a database that is lost when the process exits',
    )
  return raw
}

const hotkeys = (raw: string): string[] => {
  const values = list(raw)
  for (const v of values) {
    const decoded = decodeHotkey(v)
    if ('error' in decoded) throw new Error(`has "${v}", which is not a canonical SS58 hotkey (${decoded.error})`)
  }
  return values
}

const chainEndpoint = (raw: string): string => {
  if (raw !== '' && !/^wss?:\/\/\S+$/.test(raw)) throw new Error(`must be a ws:// or wss:// URL, got "${raw}"`)
  return raw
}

const readableFile = (raw: string): string => {
  if (raw === '') return raw
  try {
    if (!statSync(raw).isFile()) throw new Error('not a file')
    accessSync(raw, constants.R_OK)
  } catch (err) {
    throw new Error(`must name a readable file, got "${raw}" (${(err as Error).message})`)
  }
  return raw
}

const def = <T>(
  name: string,
  defaultValue: string,
  description: string,
  parse: (raw: string, env: Env) => T,
): Variable<T> => ({ name, default: defaultValue, description, parse })

/** Every variable, in the order the README lists them. */
export const CONFIG_VARIABLES = {
  environment: def(
    'ENVIRONMENT',
    'development',
    '`development` or `production`. Production turns off `sim_window_number`, claim simulation and the open monitor summary.',
    oneOf(...ENVIRONMENTS),
  ),
  apiHost: def('API_HOST', '127.0.0.1', 'Address the Pool API listens on.', text),
  apiPort: def('API_PORT', '8434', 'Port of the Pool API.', integer(0, 65535)),
  databaseUrl: def(
    'DATABASE_URL',
    'sqlite:./data/pool.db',
    '`sqlite:<file>` (created by `serve` or `migrate`), `sqlite::memory:` (lost at exit) or `postgres://user@host:port/db`.',
    databaseUrl,
  ),
  databasePoolSize: def(
    'DATABASE_POOL_SIZE',
    '20',
    "PostgreSQL: most connections one API process holds. A request waits for a free one; every process counts against the server's `max_connections`.",
    integer(1, 1000),
  ),
  logLevel: def(
    'LOG_LEVEL',
    'info',
    'pino log level: fatal, error, warn, info, debug, trace, silent.',
    oneOf(...LOG_LEVELS),
  ),
  requestLogLevel: def(
    'REQUEST_LOG_LEVEL',
    '',
    'Level of the one log line per request (fatal … trace, or silent). Empty: info in development, debug in production (so `LOG_LEVEL=info` omits them).',
    (raw, env) =>
      raw === ''
        ? (env.ENVIRONMENT ?? 'development').trim() === 'production'
          ? 'debug'
          : 'info'
        : oneOf(...LOG_LEVELS)(raw),
  ),
  maxBodyBytes: def(
    'MAX_BODY_BYTES',
    '1048576',
    'Largest request body accepted; larger bodies get 413.',
    integer(1024, 64 * 1024 * 1024),
  ),
  authVerifyThreads: def(
    'AUTH_VERIFY_THREADS',
    '1',
    'Worker threads that verify sr25519 signatures off the event loop; 0 verifies inline.',
    integer(0, 64),
  ),
  authMaxSkewS: def(
    'AUTH_MAX_SKEW_S',
    '300',
    'Largest allowed distance in seconds between `X-Timestamp` and the server clock.',
    integer(1, 86400),
  ),
  metricsToken: def(
    'METRICS_TOKEN',
    '',
    'When set, `/metrics` requires `Authorization: Bearer <token>`; production refuses to start without it.',
    text,
  ),
  monitorToken: def(
    'MONITOR_TOKEN',
    '',
    'When set, `X-Monitor-Token` must equal it to read the monitor summary; production refuses to start without it.',
    text,
  ),
  rateLimitPerMinute: def(
    'RATE_LIMIT_PER_MINUTE',
    '600',
    'Signed requests per minute allowed per hotkey (counted after the signature verifies); 0 turns it off.',
    integer(0, 1_000_000),
  ),
  rateLimitIpPerMinute: def(
    'RATE_LIMIT_IP_PER_MINUTE',
    '6000',
    'Requests per minute allowed per client IP (health, metrics and docs excepted); 0 turns it off.',
    integer(0, 10_000_000),
  ),
  trustProxy: def(
    'TRUST_PROXY',
    'false',
    'Take the client IP from X-Forwarded-For (only behind a proxy you run).',
    boolean,
  ),
  verifierHotkeys: def(
    'VERIFIER_HOTKEYS',
    '',
    'Comma-separated SS58 hotkeys (canonical, prefix 42) allowed to verify results.',
    hotkeys,
  ),

  chainEndpoint: def(
    'SUBTENSOR_CHAIN_ENDPOINT',
    '',
    'ws:// or wss:// endpoint of a Subtensor node; when set, block height follows the chain instead of the clock.',
    chainEndpoint,
  ),
  blockTimeS: def(
    'BLOCK_TIME_S',
    '12',
    'Seconds per block for the clock block source and for `time_remaining_s`.',
    integer(1, 3600),
  ),
  windowBlocks: def('WINDOW_BLOCKS', '360', 'Blocks per window (the subnet tempo).', integer(1, 1_000_000)),
  epochWindows: def('EPOCH_WINDOWS', '1', 'Windows per epoch.', integer(1, 10_000)),
  adoptStoredTempo: def(
    'ADOPT_STORED_TEMPO',
    'false',
    'Run with the tempo stored in the database when `BLOCK_TIME_S`, `WINDOW_BLOCKS` or `EPOCH_WINDOWS` differ from it (otherwise the process refuses to start); the CLI flag `--adopt-stored-tempo` does the same.',
    boolean,
  ),
  epochCloseDelayBlocks: def(
    'EPOCH_CLOSE_DELAY_BLOCKS',
    '0',
    "Blocks to wait after an epoch's last window before closing it.",
    integer(0, 1_000_000),
  ),
  alertGraceS: def(
    'ALERT_GRACE_S',
    '60',
    'Seconds a condition the background closer fixes by itself (an epoch ready to close, a lease past its timeout) may last before the monitor raises an alert.',
    integer(0, 86400),
  ),
  retentionDays: def(
    'RETENTION_DAYS',
    '0',
    "Evaluations older than this many days are deleted once their window's epoch has closed (never those an open epoch or `epoch verify` needs); 0 keeps everything.",
    integer(0, 36500),
  ),
  backgroundJobs: def(
    'BACKGROUND_JOBS',
    'true',
    'Run the window/epoch closer and lease expiry in this process (safe with several processes: the database decides who closes).',
    boolean,
  ),
  jobIntervalS: def('JOB_INTERVAL_S', '5', 'Seconds between background job runs.', integer(1, 3600)),

  taskTypes: def('TASK_TYPES', 'cifar10_binary', 'Comma-separated task types; the first is the default.', taskTypes),
  seedDir: def(
    'SEED_DIR',
    '',
    'Folder of built-in seed programs (`<task_type>/*.dsl`); empty uses the seeds shipped with the pool.',
    text,
  ),
  dslMaxBytes: def('DSL_MAX_BYTES', '16384', 'Largest algorithm accepted, in UTF-8 bytes.', integer(64, 1024 * 1024)),
  leaseTtlS: def('LEASE_TTL_S', '900', 'Seconds a lease or batch stays active.', integer(10, 86400)),
  seedCacheMs: def(
    'SEED_CACHE_MS',
    '1000',
    "Milliseconds a process reuses a task type's seed set and gossip for further leases. Its own decisions that change a seed set refresh it at once; gossip, and other processes' decisions, within this time. 0: read them for every lease.",
    integer(0, 60_000),
  ),
  leaseEnforceWindow: def('LEASE_ENFORCE_WINDOW', 'false', 'At most one lease per miner per window.', boolean),
  leaseEvolveBudget: def('LEASE_EVOLVE_BUDGET', '1', 'Evolutions a lease may submit.', integer(0, 64)),
  leaseMinIterations: def(
    'LEASE_MIN_ITERATIONS',
    '0',
    'Smallest `iterations` a lease submission may report.',
    integer(0, 1_000_000_000),
  ),

  consensusSampleSize: def(
    'CONSENSUS_SAMPLE_SIZE',
    '3',
    'n: evaluations from distinct miners that decide an algorithm.',
    integer(1, 64),
  ),
  consensusThreshold: def('CONSENSUS_THRESHOLD', '2', 'k: votes the winning cluster needs (≤ n).', integer(1, 64)),
  toleranceRatio: def('TOLERANCE_RATIO', '0.1', 'Largest cluster spread as a fraction of its median.', decimal(0, 10)),
  consensusMaxSampleSize: def(
    'CONSENSUS_MAX_SAMPLE_SIZE',
    '9',
    'Adaptive n: the most evaluators an algorithm draws when its decision at n is not clear (never below n; equal to n turns it off).',
    integer(1, 64),
  ),
  consensusSupermajority: def(
    'CONSENSUS_SUPERMAJORITY',
    '0.8',
    'Share of the vote weight a new best score or a rejection must exceed to be decided.',
    decimal(0.5, 1),
  ),
  consensusStrictSampleSize: def(
    'CONSENSUS_STRICT_SAMPLE_SIZE',
    '7',
    'Evaluations a new best score or a rejection needs at least before it is decided (never more than the largest sample).',
    integer(1, 64),
  ),
  consensusQuorumWeight: def(
    'CONSENSUS_QUORUM_WEIGHT',
    '3',
    'Vote weight a new best score or a rejection must gather, besides its supermajority, to be decided.',
    decimal(0, 64),
  ),
  consensusParkS: def(
    'CONSENSUS_PARK_S',
    '7200',
    'Seconds a full sample with no clear answer is judged again as weights move, before it is set aside undecided.',
    integer(0, 30 * 86400),
  ),
  voteWeighting: def(
    'VOTE_WEIGHTING',
    'trust',
    "`trust`: a vote weighs the evaluator's record of agreeing (newcomers 0.5); `equal`: every vote weighs 1.",
    oneOf('trust', 'equal'),
  ),
  trustPrior: def(
    'TRUST_PRIOR',
    '4',
    "Pseudo-evaluations (half agreeing) in every evaluator's record: how slowly a record moves its weight.",
    decimal(0.01, 1e6),
  ),
  trustHorizon: def(
    'TRUST_HORIZON',
    '50',
    "Decided evaluations an evaluator's record keeps (older ones fade in proportion), so recent conduct sets its weight.",
    decimal(1, 1e9),
  ),
  assignmentSpread: def(
    'ASSIGNMENT_SPREAD',
    '0.5',
    'Miners an algorithm is first offered to, as a multiple of its sample size, drawn at random per algorithm; 0 offers it to all.',
    decimal(0, 1000),
  ),
  assignmentWidenS: def(
    'ASSIGNMENT_WIDEN_S',
    '60',
    'Seconds after which an algorithm still short of evaluators is offered to twice as many miners (and again after each further period).',
    integer(1, 86400),
  ),
  assignmentActiveS: def(
    'ASSIGNMENT_ACTIVE_S',
    '86400',
    'Miners seen within this many seconds count as active when the draw sizes its offers (too many only slows the widening; too few after a quiet spell would open every algorithm to everyone).',
    integer(1, 7 * 86400),
  ),
  assignmentByTrust: def(
    'ASSIGNMENT_BY_TRUST',
    'true',
    "Scale each miner's offers by its trust relative to a newcomer's (with VOTE_WEIGHTING=trust): evaluators others disagree with are offered less.",
    boolean,
  ),
  assignmentSeparateRecipients: def(
    'ASSIGNMENT_SEPARATE_RECIPIENTS',
    'true',
    'No miner evaluates a program by a miner paid to the same recipient (one operator, many keys).',
    boolean,
  ),
  evaluatorWeight: def('EVALUATOR_WEIGHT', '1.0', 'Points per net agreement.', decimal(0, 1e6)),
  evolverWeight: def('EVOLVER_WEIGHT', '100', 'Points per unit of score improvement.', decimal(0, 1e9)),
  evolverBaseline: def(
    'EVOLVER_BASELINE',
    'genealogy',
    'Improvement baseline: `sota`, `genealogy` or `local_evolver`.',
    oneOf(...EVOLVER_BASELINES),
  ),
  repetitionScope: def(
    'REPETITION_SCOPE',
    'both',
    'Who must not have submitted an evolution before: `miner`, `global`, `both` or `off`.',
    oneOf(...REPETITION_SCOPES),
  ),
  repetitionPenalty: def('REPETITION_PENALTY', '1.0', 'Points a repeated evolution costs.', decimal(0, 1e6)),
  minRewardActivity: def(
    'MIN_REWARD_ACTIVITY',
    '1',
    'Decided evaluations + evolutions a miner needs in a window to earn points.',
    integer(0, 1_000_000),
  ),

  epochBudgetUnits: def('EPOCH_BUDGET_UNITS', '1000000000', 'Units paid out per epoch (1 alpha = 10^9 units).', units),
  poolFeeBps: def('POOL_FEE_BPS', '500', 'Pool fee in basis points of the budget.', integer(0, 10_000)),
  minerCapBps: def(
    'MINER_CAP_BPS',
    '500',
    'Largest share of the budget one miner may get, in basis points; 0 = no cap.',
    integer(0, 10_000),
  ),
  minPayoutUnits: def('MIN_PAYOUT_UNITS', '0', 'Smallest cumulative credit that gets a leaf in the claim tree.', units),

  merkleClaimEnabled: def('MERKLE_CLAIM_ENABLED', 'true', 'Mount the claim app in the Pool API.', boolean),
  merkleClaimPathPrefix: def(
    'MERKLE_CLAIM_PATH_PREFIX',
    '/claims',
    'Where the claim app is mounted in the Pool API.',
    pathPrefix,
  ),
  proofCacheMb: def(
    'PROOF_CACHE_MB',
    '128',
    "Memory in MiB for closed epochs' proof data, kept to answer proof requests without the database (about 37 MiB per 100,000 leaves; least recently used epochs are dropped first, an epoch bigger than the budget is read from the database); 0 turns the cache off.",
    integer(0, 1_048_576),
  ),
  merkleClaimHost: def(
    'MERKLE_CLAIM_HOST',
    '127.0.0.1',
    'Address of the standalone claim server (`sotapool claims`).',
    text,
  ),
  merkleClaimPort: def('MERKLE_CLAIM_PORT', '8844', 'Port of the standalone claim server.', integer(0, 65535)),
  merkleClaimSimulationEnabled: def(
    'MERKLE_CLAIM_SIMULATION_ENABLED',
    '',
    'Serve the claim simulation and ledger routes. Empty: true in development, false in production.',
    (raw, env) => (raw === '' ? (env.ENVIRONMENT ?? 'development').trim() !== 'production' : boolean(raw)),
  ),
  disclaimerFile: def('DISCLAIMER_FILE', '', 'Markdown file replacing the built-in disclaimer text.', readableFile),
} as const

type Vars = typeof CONFIG_VARIABLES
export type Config = { [K in keyof Vars]: ReturnType<Vars[K]['parse']> }

/** Secrets production cannot run without, and why. */
export const PRODUCTION_SECRETS: Array<{ key: keyof Config; why: string }> = [
  { key: 'monitorToken', why: 'the monitor summary answers only with it' },
  { key: 'metricsToken', why: '/metrics answers only with it' },
]

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const config: Record<string, unknown> = {}
  const problems: ConfigProblem[] = []
  for (const [key, variable] of Object.entries(CONFIG_VARIABLES) as Array<[keyof Vars, Variable<unknown>]>) {
    const raw = (env[variable.name] ?? variable.default).trim()
    try {
      config[key] = variable.parse(raw, env)
    } catch (err) {
      problems.push({ variable: variable.name, reason: (err as Error).message })
    }
  }
  const result = { ...(config as Config), ...overrides }
  if (result.consensusThreshold > result.consensusSampleSize) {
    problems.push({
      variable: 'CONSENSUS_THRESHOLD',
      reason: `must not exceed CONSENSUS_SAMPLE_SIZE (${result.consensusSampleSize})`,
    })
  }
  if (result.environment === 'production') {
    for (const secret of PRODUCTION_SECRETS) {
      if (result[secret.key] === '')
        problems.push({
          variable: CONFIG_VARIABLES[secret.key].name,
          reason: `must be set when ENVIRONMENT=production (${secret.why})`,
        })
    }
  }
  if (problems.length > 0) throw new ConfigError(problems[0]!.variable, problems[0]!.reason, problems.slice(1))
  return result
}

/** Names in a `.env` file that are not configuration variables (likely misspelled). */
export function unknownVariables(names: string[]): Array<{ name: string; suggestion?: string }> {
  const known = Object.values(CONFIG_VARIABLES).map((v) => v.name)
  const extra = new Set(['SOTAPOOL_MNEMONIC', 'SOTAPOOL_PROGRESS', 'NODE_ENV', 'TEST_DATABASE', 'TEST_POSTGRES_URL'])
  return names
    .filter((n) => !known.includes(n) && !extra.has(n))
    .map((name) => {
      const suggestion = known.map((k) => ({ k, d: editDistance(name, k) })).sort((a, b) => a.d - b.d)[0]
      return suggestion !== undefined && suggestion.d <= 3 ? { name, suggestion: suggestion.k } : { name }
    })
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.length]!
}
