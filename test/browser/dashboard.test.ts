// The operator dashboard (/dashboard): what the plugin serves, the SOTA history route the chart reads, and
// the page itself in a real Chromium against a listening pool with real activity: every number it shows
// must be the API's, the monitor token flow must work, and claim proofs must verify in the browser.
import { after, before, describe, it, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Page } from 'playwright-core'
import { startTestPool, VECTOR_TIME_MS, WINDOW_MS, type TestPool } from '../support/pool.ts'
import { TestMiner, evolvedProgram, type LeaseBody } from '../support/miner.ts'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const TOKEN = 'dashboard-test-monitor-token'
const TASK = 'cifar10_binary'
const MINUTE_MS = 60_000
const SCREENSHOT = fileURLToPath(new URL('../../test-results/dashboard.png', import.meta.url))
const SCREENSHOT_DARK = fileURLToPath(new URL('../../test-results/dashboard-dark.png', import.meta.url))

/** Every miner scores an algorithm the same way, so consensus is reached; evolved programs score higher. */
const scoreOf = (a: { id: number; parent_ids: number[] }): number =>
  Math.round((0.35 + ((a.id * 7) % 10) * 0.02 + (a.parent_ids.length > 0 ? 0.1 : 0)) * 1000) / 1000

/**
 * One window of activity: every miner leases and scores all it is offered, two minutes apart so decisions
 * spread over time; in the first round each also evolves one program. Rounds repeat until nothing is left.
 */
async function workOneWindow(tp: TestPool, miners: TestMiner[], firstProgram: number): Promise<void> {
  for (let round = 0; round < 4; round++) {
    for (const [i, miner] of miners.entries()) {
      const lease: LeaseBody = await miner.leaseOk({ eval_batch_size: 64 })
      const evolutions =
        round === 0
          ? [{ parent_algorithm_ids: [lease.seed_algorithms[0]!.id], algorithm_dsl: evolvedProgram(firstProgram + i) }]
          : []
      await miner.submitLeaseOk(lease.lease_id, {
        evaluations: lease.evaluate_algorithms.map((a) => ({ algorithm_id: a.id, score: scoreOf(a) })),
        evolutions,
      })
      tp.clock.advance(2 * MINUTE_MS)
    }
  }
}

/** Moves the pinned clock to the first block of `window` and closes every window and epoch ready. */
async function closeBefore(tp: TestPool, window: number): Promise<number[]> {
  tp.clock.advance(VECTOR_TIME_MS + window * WINDOW_MS - tp.clock.now())
  return await tp.pool.epochs.closeReady()
}

let tp: TestPool
let miners: TestMiner[]
let base: string

const api = async (url: string, headers: Record<string, string> = {}): Promise<any> => {
  const response = await fetch(`${base}${url}`, { headers })
  assert.ok(response.ok || response.status === 503, `${url} answered ${response.status}`)
  return await response.json()
}

before(async () => {
  tp = await startTestPool({ MONITOR_TOKEN: TOKEN })
  miners = await TestMiner.many(tp.app, 5, 'dashboard')
  // Four of five miners name a recipient, so the fifth has credit but no leaf.
  for (const [i, miner] of miners.slice(0, 4).entries()) {
    const recipient = await TestMiner.create(tp.app, `//dashboard-recipient${i}`)
    assert.equal((await miner.setRecipient(recipient.hotkey)).statusCode, 200)
  }
  await workOneWindow(tp, miners, 0)
  assert.deepEqual(await closeBefore(tp, 1), [0])
  await workOneWindow(tp, miners, 100)
  assert.deepEqual(await closeBefore(tp, 2), [1])
  tp.clock.advance(7 * MINUTE_MS) // mid-window, so "time left" is not a round number
  base = await tp.app.listen({ port: 0, host: '127.0.0.1' })
})

after(async () => {
  await tp.close()
})

describe('the dashboard plugin', () => {
  it('serves the page at /dashboard with the claim prefix and task types injected', async () => {
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/index.html']) {
      const response = await fetch(`${base}${path}`)
      assert.equal(response.status, 200, path)
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/)
      const page = await response.text()
      assert.ok(
        page.includes(`<script>window.SOTAPOOL = {"claimsPrefix":"/claims","taskTypes":["${TASK}"]}</script>`),
        path,
      )
      assert.ok(!page.includes('sotapool:config'), 'the placeholder is replaced')
    }
  })

  it('sends security headers with the page and its files: a CSP naming what it loads, no framing, no sniffing, no referrer', async () => {
    for (const path of [
      '/dashboard',
      '/dashboard/app.js',
      '/dashboard/vendor/preact.mjs',
      '/docs',
      '/docs/static/index.html',
      '/redoc',
    ]) {
      const response = await tp.app.inject({ url: path })
      assert.ok(response.statusCode === 200 || response.statusCode === 302, `${path}: ${response.statusCode}`)
      const csp = String(response.headers['content-security-policy'])
      assert.match(csp, /default-src 'self'/, path)
      assert.match(csp, /frame-ancestors 'none'/, path)
      assert.match(csp, /object-src 'none'/, path)
      assert.equal(response.headers['x-frame-options'], 'DENY', path)
      assert.equal(response.headers['x-content-type-options'], 'nosniff', path)
      assert.equal(response.headers['referrer-policy'], 'no-referrer', path)
    }
    const page = await tp.app.inject({ url: '/dashboard' })
    assert.doesNotMatch(
      String(page.headers['content-security-policy']),
      /unsafe-inline|unsafe-eval/,
      'the dashboard allows inline scripts only by hash',
    )
    assert.match(String(page.headers['content-security-policy']), /script-src 'self' 'sha256-[^']+' 'sha256-[^']+'/)
  })

  it('injects a null claim prefix when the claim app is not mounted, and another prefix when configured', async () => {
    for (const [env, expected] of [
      [{ MERKLE_CLAIM_ENABLED: 'false' }, null],
      [{ MERKLE_CLAIM_PATH_PREFIX: '/merkle' }, '/merkle'],
    ] as const) {
      const other = await startTestPool(env)
      try {
        const page = (await other.app.inject({ method: 'GET', url: '/dashboard' })).body
        assert.ok(
          page.includes(`window.SOTAPOOL = ${JSON.stringify({ claimsPrefix: expected, taskTypes: [TASK] })}`),
          JSON.stringify(env),
        )
      } finally {
        await other.close()
      }
    }
  })

  it('serves Preact, its hooks, htm and uPlot from node_modules and its own scripts, nothing else of the folder', async () => {
    for (const [path, type, marker] of [
      ['/dashboard/vendor/preact.mjs', /javascript/, 'export{'],
      ['/dashboard/vendor/preact-hooks.mjs', /javascript/, 'from"preact"'],
      ['/dashboard/vendor/htm.mjs', /javascript/, 'export'],
      ['/dashboard/vendor/uplot.mjs', /javascript/, 'export { uPlot as default }'],
      ['/dashboard/vendor/uplot.min.css', /text\/css/, '.uplot'],
      ['/dashboard/app.js', /javascript/, "from './verify.js'"],
      ['/dashboard/verify.js', /javascript/, "from './blake2b.js'"],
      ['/dashboard/blake2b.js', /javascript/, 'export function blake2b'],
      ['/dashboard/styles.css', /text\/css/, 'prefers-color-scheme: dark'],
    ] as const) {
      const response = await fetch(`${base}${path}`)
      assert.equal(response.status, 200, path)
      assert.match(response.headers.get('content-type') ?? '', type, path)
      assert.ok((await response.text()).includes(marker), `${path} contains ${marker}`)
    }
    for (const path of [
      '/dashboard/verify.d.ts',
      '/dashboard/missing.js',
      '/dashboard/vendor/react.mjs',
      '/dashboard/%2e%2e/plugins/dashboard.ts',
    ]) {
      assert.equal((await fetch(`${base}${path}`)).status, 404, path)
    }
  })

  it('GET /api/v1/results/sota/history gives every scored algorithm in decision order with the running best', async () => {
    const rows = await tp.pool.database.db
      .selectFrom('algorithms')
      .select(['id', 'consensus_score', 'decided_at', 'decided_window'])
      .where('task_type', '=', TASK)
      .where('state', '=', 'scored')
      .execute()
    rows.sort((a, b) => Number(a.decided_at) - Number(b.decided_at) || Number(a.id) - Number(b.id))
    let best = 0
    const expected = rows.map((r) => {
      best = Math.max(best, r.consensus_score!)
      return {
        window_number: Number(r.decided_window),
        decided_at: new Date(Number(r.decided_at)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        consensus_score: r.consensus_score,
        algorithm_id: Number(r.id),
        sota: best,
      }
    })
    assert.ok(expected.length >= 12, 'seeds and evolutions of two windows are scored')
    assert.ok(new Set(expected.map((p) => p.decided_at)).size >= 3, 'decisions spread over time')
    assert.ok(new Set(expected.map((p) => p.sota)).size >= 2, 'the SOTA improved at least once')

    const history = await api('/api/v1/results/sota/history')
    assert.deepEqual(history, { task_type: TASK, points: expected })
    assert.equal(expected.at(-1)!.sota, (await api(`/api/v1/results/sota?task_type=${TASK}`)).sota_threshold)
    // `limit` keeps the newest points; their running best still counts the older ones.
    assert.deepEqual((await api(`/api/v1/results/sota/history?task_type=${TASK}&limit=3`)).points, expected.slice(-3))

    for (const query of ['task_type=unknown', 'limit=0', 'limit=5001', 'limit=x']) {
      const response = await fetch(`${base}/api/v1/results/sota/history?${query}`)
      assert.equal(response.status, 422, query)
      assert.equal(((await response.json()) as { code: string }).code, 'POOL_ERR_VALIDATION')
    }
  })

  it('documents the history route in /openapi.json under results, and not the dashboard files', async () => {
    const doc = await api('/openapi.json')
    const route = doc.paths['/api/v1/results/sota/history']?.get
    assert.deepEqual(route?.tags, ['results'])
    assert.deepEqual(
      Object.keys(route.responses['200'].content['application/json'].schema.properties.points.items.properties).sort(),
      ['algorithm_id', 'consensus_score', 'decided_at', 'sota', 'window_number'],
    )
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/dashboard')))
  })
})

const textOf = async (page: Page, testid: string): Promise<string> =>
  ((await page.getByTestId(testid).first().textContent()) ?? '').trim()

/** Waits until the element's text is exactly `expected` (the page fills in asynchronously). */
async function waitForText(page: Page, testid: string, expected: string): Promise<void> {
  const deadline = Date.now() + 10_000
  let seen = '(absent)'
  while (Date.now() < deadline) {
    if ((await page.getByTestId(testid).count()) > 0) {
      seen = await textOf(page, testid)
      if (seen === expected) return
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.fail(`${testid} shows "${seen}", expected "${expected}"`)
}

/** The dashboard's number format: up to six decimals, thousands separated. */
const shown = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 6 })

test('the dashboard in a real browser', { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the browser test`)
    return
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const pageErrors: string[] = []
    page.on('pageerror', (err) => pageErrors.push(err.message))
    // The 401 of the monitor summary and the 404 of a hotkey without a leaf are expected resource errors.
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        pageErrors.push(message.text())
    })
    await page.clock.install()
    await page.goto(`${base}/dashboard`)

    const health = await api('/health')
    const leaderboard = await api('/api/v1/miners/leaderboard?limit=20')
    const epochs = await api('/claims/epochs')
    const latest = await api(`/claims/epoch/${epochs.epochs[0]}`)
    const sota = await api(`/api/v1/results/sota?task_type=${TASK}`)
    const history = await api(`/api/v1/results/sota/history?task_type=${TASK}&limit=500`)

    await t.test('shows window, epoch and SOTA from the public API', async () => {
      assert.equal(health.window_number, 2)
      await waitForText(page, 'window-number', String(health.window_number))
      assert.equal(await page.getByTestId('time-left').getAttribute('data-seconds'), String(health.time_remaining_s))
      assert.equal(
        await textOf(page, 'time-left'),
        `${Math.floor(health.time_remaining_s / 60)} min ${String(health.time_remaining_s % 60).padStart(2, '0')} s`,
      )
      await waitForText(page, 'epoch-current', String(health.epoch.current))
      await waitForText(page, 'sota-value', shown(sota.sota_threshold))
      await waitForText(page, 'health-status', health.status)
    })

    await t.test('asks for the monitor token on 401, then shows miners, algorithms and alerts with it', async () => {
      const refused = await fetch(`${base}/api/v1/monitor/summary`)
      assert.equal(refused.status, 401)
      await page.getByTestId('monitor-token-form').waitFor()
      assert.match(await textOf(page, 'monitor-token-form'), /monitor token is needed/i)
      await waitForText(page, 'miners-total', 'monitor token needed')

      await page.getByLabel('Monitor token').fill(TOKEN)
      await page.getByRole('button', { name: 'Use token', exact: true }).click()
      await page.getByTestId('algorithms-table').waitFor()
      assert.equal(await page.evaluate('sessionStorage.getItem("sotapool.monitorToken")'), TOKEN)

      const summary = await api('/api/v1/monitor/summary', { 'x-monitor-token': TOKEN })
      await waitForText(page, 'miners-total', String(summary.miners.total))
      assert.equal(summary.miners.total, miners.length)
      await waitForText(page, 'miners-active', String(summary.miners.active_last_hour))
      const row = page.locator(`[data-testid="algorithms-table"] tr[data-task-type="${TASK}"]`)
      const counts = summary.algorithms[TASK]
      assert.ok(counts.scored >= 12)
      for (const state of ['evaluating', 'scored', 'rejected']) {
        assert.equal((await row.getByTestId(`algorithms-${state}`).textContent())?.trim(), String(counts[state]), state)
      }
      await waitForText(page, 'alerts-overall', summary.alerts.overall)
      for (const alert of summary.alerts.items)
        assert.ok((await textOf(page, 'alerts')).includes(alert.code), alert.code)
    })

    await t.test('lists the leaderboard as the API ranks it', async () => {
      assert.ok(leaderboard.miners.length >= 5)
      await waitForText(page, 'leaderboard-hotkey', leaderboard.miners[0].hotkey)
      assert.deepEqual(
        await page.getByTestId('leaderboard-hotkey').allTextContents(),
        leaderboard.miners.map((m: { hotkey: string }) => m.hotkey),
      )
      assert.deepEqual(
        await page.getByTestId('leaderboard-reputation').allTextContents(),
        leaderboard.miners.map((m: { reputation: number }) => shown(m.reputation)),
      )
    })

    await t.test('draws the SOTA history with every point', async () => {
      await page.locator('[data-testid="sota-chart"] canvas').waitFor()
      assert.equal(await page.getByTestId('sota-chart').getAttribute('data-points'), String(history.points.length))
    })

    await t.test('lists the recent epochs with their roots and totals', async () => {
      assert.deepEqual(epochs.epochs, [1, 0])
      await waitForText(page, 'epoch-root', latest.root)
      assert.deepEqual(await page.getByTestId('epoch-id').allTextContents(), ['1', '0'])
      assert.match((await page.locator('tr[data-epoch="1"]').textContent()) ?? '', /claimable default/)
      assert.equal(await textOf(page, 'epoch-leaves'), String(latest.num_of_leaves))
      const totals = await page
        .locator('tr[data-epoch="1"] td[title$=" units"]')
        .evaluateAll((cells) => cells.map((c) => c.getAttribute('title')))
      assert.deepEqual(totals, [
        `${latest.total_units} units`,
        `${latest.epoch_units} units`,
        `${latest.fee_units} units`,
      ])
      // The fifth miner has credit but no recipient: the row says so instead of looking like nothing.
      assert.equal(latest.awaiting_recipient.miners, 1)
      assert.match(
        (await page.locator('tr[data-epoch="1"] [data-testid="epoch-awaiting"]').textContent()) ?? '',
        /1 credited, waiting for a recipient/,
      )
      assert.equal(
        await page.locator('tr[data-epoch="1"] [data-testid="epoch-undistributed"]').getAttribute('title'),
        `${latest.undistributed_units} units left undistributed (miner cap)`,
      )
      assert.match(await textOf(page, 'monitor-credit'), /1 credited, waiting for a recipient/)
    })

    const withLeaf = miners[0]!.hotkey
    await t.test('looks up a claim and verifies the proof in the browser', async () => {
      const pkg = await api(`/claims/epoch/proof/${withLeaf}`)
      assert.equal(pkg.epoch, 1)
      await page.getByLabel('Hotkey').fill(withLeaf)
      await page.getByRole('button', { name: 'Look up', exact: true }).click()
      const verdict = page.getByTestId('claim-verdict')
      await verdict.waitFor()
      assert.equal(await verdict.getAttribute('data-ok'), 'true', (await verdict.textContent()) ?? '')
      assert.match(await textOf(page, 'claim-verdict'), /Proof verifies/)
      assert.equal(await textOf(page, 'claim-root'), latest.root)
      assert.equal(await textOf(page, 'claim-epoch'), String(pkg.epoch))
      assert.deepEqual(JSON.parse(await textOf(page, 'claim-json')), pkg)
    })

    await t.test('saves screenshots, light and dark', async () => {
      mkdirSync(dirname(SCREENSHOT), { recursive: true })
      await page.screenshot({ path: SCREENSHOT, fullPage: true })
      await page.emulateMedia({ colorScheme: 'dark' })
      await page.screenshot({ path: SCREENSHOT_DARK, fullPage: true })
      await page.emulateMedia({ colorScheme: 'light' })
      assert.ok(existsSync(SCREENSHOT) && existsSync(SCREENSHOT_DARK))
    })

    await t.test('says so when a hotkey has no leaf', async () => {
      const withoutRecipient = miners[4]!.hotkey
      assert.equal((await fetch(`${base}/claims/epoch/proof/${withoutRecipient}`)).status, 404)
      await page.getByLabel('Hotkey').fill(withoutRecipient)
      await page.getByRole('button', { name: 'Look up', exact: true }).click()
      await page.getByTestId('claim-error').waitFor()
      assert.match(await textOf(page, 'claim-error'), /^No claim/)
    })

    await t.test(
      'refuses a proof package whose amount was altered in transit (the check is really local)',
      async () => {
        await page.route('**/claims/epoch/0/proof/**', async (route) => {
          const response = await route.fetch()
          const pkg = await response.json()
          const more = (BigInt(pkg.amount_units) + 1n).toString()
          await route.fulfill({ response, json: { ...pkg, amount_units: more, amount: more } })
        })
        await page.getByLabel('Hotkey').fill(withLeaf)
        await page.getByLabel('Epoch').selectOption('0')
        await page.getByRole('button', { name: 'Look up', exact: true }).click()
        const verdict = page.getByTestId('claim-verdict')
        await verdict.waitFor()
        assert.equal(await verdict.getAttribute('data-ok'), 'false')
        assert.match(await textOf(page, 'claim-verdict'), /does not verify[\s\S]*folds to/)
        await page.unroute('**/claims/epoch/0/proof/**')
      },
    )

    await t.test('refreshes itself every 10 s', async () => {
      const before = await api('/api/v1/monitor/summary', { 'x-monitor-token': TOKEN })
      const newcomer = await TestMiner.create(tp.app, '//dashboard-newcomer')
      assert.equal((await newcomer.send('POST', '/api/v1/miners/register', {})).statusCode, 200)
      assert.equal(await textOf(page, 'miners-total'), String(before.miners.total), 'not before the refresh')
      await page.clock.fastForward(10_000)
      await waitForText(page, 'miners-total', String(before.miners.total + 1))
    })

    assert.deepEqual(pageErrors, [], 'no script error and no Content-Security-Policy violation')
  } finally {
    await browser.close()
  }
})

test('Swagger UI and Redoc render under their Content-Security-Policy', { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the browser test`)
    return
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  try {
    for (const [path, rendered] of [
      ['/docs', '.swagger-ui .info .title'],
      ['/redoc', '.api-info h1'],
    ] as const) {
      const page = await browser.newPage()
      const problems: string[] = []
      page.on('pageerror', (err) => problems.push(err.message))
      page.on('console', (message) => {
        // Redoc's sidebar always tries a logo from its CDN; the pool loads nothing from elsewhere, so the
        // policy blocks it (and Redoc hides the image). Failed loads are caught below with their URL (the
        // browser's own favicon request excepted).
        const text = message.text()
        if (
          message.type() === 'error' &&
          !text.includes('https://cdn.redoc.ly/') &&
          !text.startsWith('Failed to load resource')
        )
          problems.push(text)
      })
      page.on('response', (response) => {
        if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`)
      })
      await page.goto(`${base}${path}`)
      await page.waitForSelector(rendered, { timeout: 60_000 })
      assert.match((await page.textContent(rendered)) ?? '', /sotapool Pool API/, path)
      assert.deepEqual(problems, [], `${path}: no script error and no Content-Security-Policy violation`)
      await page.close()
    }
  } finally {
    await browser.close()
  }
})
