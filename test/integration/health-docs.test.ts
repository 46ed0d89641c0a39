// /health and /status (SPEC §10.1), the disclaimer (§10.2) and the API documentation the pool serves
// itself (/openapi.json, /docs, /redoc), checked against the route inventory.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, HTTPMethods } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { ManualClock } from '../../src/clock.ts'
import { loadConfig } from '../../src/config.ts'
import { ERROR_TABLE } from '../../src/errors.ts'
import { createPoolContext, type PoolContext } from '../../src/services/context.ts'
import { createSharedTestStore, testDialect } from '../support/database.ts'
import { startTestPool, VECTOR_TIME_MS, type TestPool } from '../support/pool.ts'
import { fixturePath } from '../support/shared-data.ts'

const BLOCK_MS = 12_000
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z')
const packageVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version

/** Every key SPEC §10.1 names, as paths; the report may carry more. */
const SPEC_HEALTH_KEYS = [
  'status',
  'window_number',
  'current_block',
  'time_remaining_s',
  'tempo.window_blocks',
  'tempo.window_start_block',
  'tempo.window_end_block',
  'tempo.block_time_s',
  'tempo.source',
  'tempo.chain_connected',
  'tempo.last_block_at',
  'epoch.current',
  'epoch.last_closed',
  'database.ok',
  'database.dialect',
  'onchain_runtime.enabled',
  'onchain_runtime.contract_status.active_veto_count',
  'onchain_runtime.contract_status.is_veto_active',
  'onchain_runtime.contract_status.claim_ready',
  'onchain_runtime.contract_status.read_error',
  'onchain_runtime.proof_api.enabled',
  'onchain_runtime.accounts.publisher',
  'onchain_runtime.processes',
  'onchain_runtime.verifier_diagnostics.verifier_count',
  'version',
]

const at = (value: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v !== null && typeof v === 'object' && k in v ? (v as Record<string, unknown>)[k] : undefined),
      value,
    )

function assertSpecShape(body: unknown): void {
  for (const path of SPEC_HEALTH_KEYS) assert.notEqual(at(body, path), undefined, `health lacks ${path}`)
}

describe('/health and /status', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('a fresh pool is healthy at block 0 of window 0, with every SPEC field', async () => {
    const res = await tp.app.inject({ url: '/health' })
    assert.equal(res.statusCode, 200, res.body)
    const body = res.json()
    assertSpecShape(body)
    assert.deepEqual(body, {
      status: 'healthy',
      window_number: 0,
      current_block: 0,
      time_remaining_s: 360 * 12,
      tempo: {
        window_blocks: 360,
        window_start_block: 0,
        window_end_block: 360,
        block_time_s: 12,
        epoch_windows: 1,
        source: 'clock',
        chain_connected: true,
        last_block_at: iso(VECTOR_TIME_MS),
      },
      epoch: { current: 0, last_closed: null, overdue: [] },
      database: { ok: true, dialect: testDialect() },
      onchain_runtime: {
        enabled: false,
        contract_status: { active_veto_count: 0, is_veto_active: false, claim_ready: false, read_error: null },
        proof_api: { enabled: true },
        accounts: { publisher: null },
        processes: [],
        verifier_diagnostics: { verifier_count: 0 },
      },
      version: packageVersion,
    })
  })

  test('/status answers the same body as /health', async () => {
    const [health, status] = await Promise.all([tp.app.inject({ url: '/health' }), tp.app.inject({ url: '/status' })])
    assert.equal(status.statusCode, 200)
    assert.deepEqual(status.json(), health.json())
  })

  test('window math after 4400 blocks: window 12 of [4320, 4680), 280 blocks left', async () => {
    tp.clock.set(VECTOR_TIME_MS + 4400 * BLOCK_MS + 11_999) // just before block 4401
    try {
      for (const url of ['/health', '/status']) {
        const body = (await tp.app.inject({ url })).json()
        assert.equal(body.current_block, 4400)
        assert.equal(body.window_number, 12)
        assert.equal(body.time_remaining_s, (4680 - 4400) * 12)
        assert.equal(body.tempo.window_start_block, 4320)
        assert.equal(body.tempo.window_end_block, 4680)
        assert.equal(body.tempo.last_block_at, iso(VECTOR_TIME_MS + 4400 * BLOCK_MS))
        // Twelve ended epochs nobody closed (no background closer here): overdue, so the pool is degraded.
        assert.deepEqual(body.epoch, {
          current: 12,
          last_closed: null,
          overdue: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        })
        assert.equal(body.status, 'degraded')
      }
      tp.clock.advance(1)
      const next = (await tp.app.inject({ url: '/health' })).json()
      assert.equal(next.current_block, 4401)
      assert.equal(next.time_remaining_s, (4680 - 4401) * 12)
    } finally {
      tp.clock.set(VECTOR_TIME_MS)
    }
  })

  test('the last block of a window and the first of the next', async () => {
    tp.clock.set(VECTOR_TIME_MS + 359 * BLOCK_MS)
    try {
      let body = (await tp.app.inject({ url: '/health' })).json()
      assert.deepEqual([body.current_block, body.window_number, body.time_remaining_s], [359, 0, 12])
      tp.clock.advance(BLOCK_MS)
      body = (await tp.app.inject({ url: '/health' })).json()
      assert.deepEqual(
        [body.current_block, body.window_number, body.time_remaining_s, body.tempo.window_start_block],
        [360, 1, 360 * 12, 360],
      )
    } finally {
      tp.clock.set(VECTOR_TIME_MS)
    }
  })

  test('configured tempo, epochs of several windows, claim app off and verifiers are reported', async () => {
    const custom = await startTestPool({
      WINDOW_BLOCKS: '10',
      BLOCK_TIME_S: '6',
      EPOCH_WINDOWS: '3',
      MERKLE_CLAIM_ENABLED: 'false',
      VERIFIER_HOTKEYS:
        '5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV,5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe',
    })
    try {
      custom.clock.advance(35 * 6000)
      const body = (await custom.app.inject({ url: '/health' })).json()
      assert.equal(body.current_block, 35)
      assert.equal(body.window_number, 3)
      assert.equal(body.time_remaining_s, (40 - 35) * 6)
      assert.deepEqual(body.epoch, { current: 1, last_closed: null, overdue: [] })
      assert.equal(body.tempo.window_blocks, 10)
      assert.equal(body.tempo.block_time_s, 6)
      assert.equal(body.tempo.epoch_windows, 3)
      assert.equal(body.onchain_runtime.proof_api.enabled, false)
      assert.equal(body.onchain_runtime.verifier_diagnostics.verifier_count, 2)
    } finally {
      await custom.close()
    }
  })

  test('with the database gone → 503 degraded, database.ok false, the rest of the report intact', async () => {
    const broken = await startTestPool()
    try {
      await broken.pool.database.close()
      for (const url of ['/health', '/status']) {
        const res = await broken.app.inject({ url })
        assert.equal(res.statusCode, 503, res.body)
        const body = res.json()
        assertSpecShape(body)
        assert.equal(body.status, 'degraded')
        assert.deepEqual(body.database, { ok: false, dialect: testDialect() })
        assert.equal(body.current_block, 0)
      }
    } finally {
      await broken.close()
    }
  })
})

describe('genesis is stored in the database', () => {
  let store: Awaited<ReturnType<typeof createSharedTestStore>>
  const opened: Array<{ app: FastifyInstance; pool: PoolContext }> = []
  before(async () => {
    store = await createSharedTestStore()
  })
  after(async () => {
    for (const p of opened) {
      await p.app.close()
      await p.pool.close()
    }
    await store.drop()
  })

  const start = async (clockMs: number): Promise<FastifyInstance> => {
    const config = loadConfig({
      DATABASE_URL: store.url,
      BACKGROUND_JOBS: 'false',
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
      LOG_LEVEL: 'silent',
    })
    const pool = await createPoolContext(config, { clock: new ManualClock(clockMs) })
    const app = await buildApp(pool)
    opened.push({ app, pool })
    return app
  }

  test('a restart (or a second process) keeps counting from the first start', async () => {
    const first = await start(VECTOR_TIME_MS)
    assert.equal((await first.inject({ url: '/health' })).json().current_block, 0)

    const later = VECTOR_TIME_MS + 1000 * BLOCK_MS + 5000
    const second = await start(later)
    const body = (await second.inject({ url: '/health' })).json()
    assert.equal(body.current_block, 1000, 'the second start must not reset the chain of blocks to 0')
    assert.equal(body.window_number, 2)
    assert.equal(body.tempo.last_block_at, iso(VECTOR_TIME_MS + 1000 * BLOCK_MS))
  })
})

describe('disclaimer', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('GET /api/v1/disclaimer → the JSON payload clients display', async () => {
    const res = await tp.app.inject({ url: '/api/v1/disclaimer' })
    assert.equal(res.statusCode, 200)
    const body = res.json()
    assert.deepEqual(Object.keys(body).sort(), ['code', 'must_display', 'summary', 'text', 'title', 'url', 'version'])
    assert.equal(body.code, 'no_reward_guarantee')
    assert.equal(body.title, 'No reward guarantee')
    assert.equal(body.must_display, true)
    assert.equal(typeof body.version, 'string')
    assert.ok(body.version.length > 0)
    assert.ok(body.summary.length > 20)
    const linked = await tp.app.inject({ url: body.url })
    assert.equal(linked.statusCode, 200, `url ${body.url} must be served`)
    assert.equal(linked.body, body.text)
  })

  test('the built-in text says what SPEC §10.2 requires', async () => {
    const text = (await tp.app.inject({ url: '/api/v1/disclaimer' })).json().text as string
    for (const word of [
      'reward',
      'payout',
      'emission',
      'rank',
      'validator acceptance',
      'claimab',
      'contracts',
      'validators',
      'exploited',
      'vetoed',
      'recalculate',
      'shut down',
      'keys',
      'fees',
      'decisions',
      'financial',
    ]) {
      assert.match(
        text.toLowerCase().replace(/\s+/g, ' '),
        new RegExp(word),
        `disclaimer text should mention "${word}"`,
      )
    }
  })

  test('the .md routes serve the same text as text/markdown', async () => {
    const json = (await tp.app.inject({ url: '/api/v1/disclaimer' })).json()
    for (const url of ['/api/v1/disclaimer.md', '/disclaimer.md']) {
      const res = await tp.app.inject({ url })
      assert.equal(res.statusCode, 200)
      assert.match(String(res.headers['content-type']), /^text\/markdown/)
      assert.equal(res.body, json.text)
    }
  })

  test('DISCLAIMER_FILE replaces the text everywhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotapool-disclaimer-'))
    const file = join(dir, 'disclaimer.md')
    const text = '# Operator terms\n\nThis pool is run by ACME. Nothing is guaranteed.\n'
    writeFileSync(file, text)
    const custom = await startTestPool({ DISCLAIMER_FILE: file })
    try {
      const json = (await custom.app.inject({ url: '/api/v1/disclaimer' })).json()
      assert.equal(json.text, text)
      assert.equal(json.code, 'no_reward_guarantee')
      assert.equal(json.must_display, true)
      assert.notEqual(
        json.version,
        (await tp.app.inject({ url: '/api/v1/disclaimer' })).json().version,
        'an operator text has its own version',
      )
      for (const url of ['/api/v1/disclaimer.md', '/disclaimer.md'])
        assert.equal((await custom.app.inject({ url })).body, text)
    } finally {
      await custom.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

interface InventoryRoute {
  method: HTTPMethods
  path: string
  auth: string
}

/** The method/path/auth rows of the route inventory (the standalone claim server's bare paths excluded). */
function routeInventory(): InventoryRoute[] {
  const file = fixturePath('pool-backend-routes.txt')
  const rows: InventoryRoute[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m =
      /^(GET|POST|PUT|PATCH|DELETE) (\/\S*) (Public when simulation enabled|Public|Pool wallet signed|Recipient update signed)\b/.exec(
        line.trim(),
      )
    if (m !== null) rows.push({ method: m[1] as HTTPMethods, path: m[2]!, auth: m[3]! })
  }
  return rows
}

const SIGNED = new Set(['Pool wallet signed', 'Recipient update signed'])

describe('API documentation', () => {
  let tp: TestPool
  let doc: {
    openapi: string
    info: { description: string }
    paths: Record<string, Record<string, { security?: unknown[] }>>
  }
  before(async () => {
    tp = await startTestPool()
    const res = await tp.app.inject({ url: '/openapi.json' })
    assert.equal(res.statusCode, 200)
    doc = res.json()
  })
  after(async () => {
    await tp.close()
  })

  test('the inventory file parses into the routes this suite checks', () => {
    const inventory = routeInventory()
    assert.equal(inventory.length, 34, 'rows: 4 root and disclaimer, 9 miners, 6 tasks, 3 results, 12 claims')
    assert.ok(inventory.some((r) => r.path === '/coldkey_address/update' && r.auth === 'Recipient update signed'))
  })

  const REQUIRED: Array<[string, string]> = [
    ['get', '/health'],
    ['get', '/status'],
    ['get', '/api/v1/disclaimer'],
    ['get', '/api/v1/disclaimer.md'],
    ['get', '/disclaimer.md'],
    ['post', '/api/v1/miners/register'],
    ['get', '/api/v1/miners/stats'],
    ['get', '/api/v1/miners/leaderboard'],
    ['put', '/api/v1/miners/recipient-coldkey'],
    ['post', '/api/v1/miners/recipient-coldkey'],
    ['post', '/api/v1/miners/coldkey_address/update'],
    ['post', '/coldkey_address/update'],
    ['get', '/api/v1/miners/recipient-coldkey'],
    ['get', '/api/v1/miners/recipient-coldkey/{miner_hotkey}'],
  ]

  test('/openapi.json is OpenAPI 3 and lists the health, disclaimer and all nine miner routes', () => {
    assert.match(doc.openapi, /^3\./)
    const missing = REQUIRED.filter(([method, path]) => doc.paths[path]?.[method] === undefined)
    assert.deepEqual(missing, [])
  })

  test('every inventory route the app serves is documented, signed ones with the three-header security', () => {
    const problems: string[] = []
    let served = 0
    for (const route of routeInventory()) {
      const url = route.path.replace(/\{(\w+)\}/g, ':$1')
      if (!tp.app.hasRoute({ method: route.method, url })) continue
      served++
      const op = doc.paths[route.path]?.[route.method.toLowerCase()]
      if (op === undefined) {
        problems.push(`${route.method} ${route.path} served but not documented`)
        continue
      }
      const security = JSON.stringify(op.security ?? [])
      const signed = /XKey/.test(security) && /XTimestamp/.test(security) && /XSignature/.test(security)
      if (SIGNED.has(route.auth) !== signed)
        problems.push(`${route.method} ${route.path}: ${route.auth} but security ${security}`)
    }
    assert.deepEqual(problems, [])
    assert.ok(served >= REQUIRED.length - 1, `only ${served} inventory routes served`) // /status is not in the inventory
  })

  test('the inventory routes of health, disclaimer and miners are all served', () => {
    const core = routeInventory().filter(
      (r) =>
        !r.path.startsWith('/api/v1/tasks') && !r.path.startsWith('/api/v1/results') && !r.path.startsWith('/claims'),
    )
    const missing = core.filter((r) => !tp.app.hasRoute({ method: r.method, url: r.path.replace(/\{(\w+)\}/g, ':$1') }))
    assert.deepEqual(missing, [])
  })

  test('the description documents every error code', () => {
    for (const code of Object.keys(ERROR_TABLE))
      assert.ok(doc.info.description.includes(code), `${code} missing from the OpenAPI description`)
  })

  test('/docs serves Swagger UI from the pool itself', async () => {
    let res = await tp.app.inject({ url: '/docs' })
    for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && hops < 3; hops++) {
      res = await tp.app.inject({ url: new URL(String(res.headers.location), 'http://localhost/docs').pathname })
    }
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /^text\/html/)
    assert.match(res.body, /swagger-ui/i)
    assert.doesNotMatch(res.body, /(src|href)="https?:\/\//, 'no CDN assets')
    const css = await tp.app.inject({ url: '/docs/static/swagger-ui.css' })
    assert.equal(css.statusCode, 200)
    assert.match(String(css.headers['content-type']), /^text\/css/)
  })

  test('/redoc serves a page whose script is served locally, no CDN', async () => {
    const page = await tp.app.inject({ url: '/redoc' })
    assert.equal(page.statusCode, 200)
    assert.match(String(page.headers['content-type']), /^text\/html/)
    assert.doesNotMatch(page.body, /https?:\/\//)
    const scripts = [...page.body.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]!)
    assert.deepEqual(scripts, ['/redoc/redoc.standalone.js'])
    assert.match(page.body, /spec-url="\/openapi\.json"/)
    const script = await tp.app.inject({ url: scripts[0]! })
    assert.equal(script.statusCode, 200)
    assert.match(String(script.headers['content-type']), /javascript/)
    assert.ok(script.body.length > 100_000, 'the Redoc bundle itself')
    assert.doesNotMatch(script.body, /https:\/\/cdn\./, 'the bundle loads no logo from a CDN')
    assert.match(script.body, /src:"\/favicon\.svg"/, "its logo is the pool's own icon")
  })

  test('the favicon is served by the pool (no 404 in the browser console)', async () => {
    for (const url of ['/favicon.ico', '/favicon.svg']) {
      const res = await tp.app.inject({ url })
      assert.equal(res.statusCode, 200, url)
      assert.equal(res.headers['content-type'], 'image/svg+xml')
      assert.match(res.body, /^<svg /)
    }
  })

  test('Swagger UI styles the error table so its headers do not run together', async () => {
    let res = await tp.app.inject({ url: '/docs/static/index.html' })
    if (res.statusCode !== 200) res = await tp.app.inject({ url: '/docs/' })
    const sheet = [...res.body.matchAll(/href="\.?\/?([^"]*sotapool\.css)"/g)].map((m) => m[1]!)[0]
    assert.ok(sheet !== undefined, `the page links the pool's stylesheet: ${res.body.slice(0, 2000)}`)
    const css = await tp.app.inject({ url: `/docs/${sheet.replace(/^.*?(static\/)/, '$1')}` })
    assert.equal(css.statusCode, 200)
    assert.match(css.body, /\.markdown th, \.swagger-ui \.info \.markdown td \{ padding: 4px 10px/)
  })
})
