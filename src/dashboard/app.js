// The operator dashboard: Preact + htm (no build step), uPlot for the SOTA chart. It reads only the
// public JSON API and shows its numbers as they come; claim proofs are verified here, in the browser.
import { h, render } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import htm from 'htm'
import uPlot from 'uplot'
import { checkProofPackage } from './verify.js'

const html = htm.bind(h)

/** Injected by the server into index.html: where the claim app is mounted (null: disabled), task types. */
const CONFIG = window.SOTAPOOL ?? { claimsPrefix: '/claims', taskTypes: ['cifar10_binary'] }
const REFRESH_MS = 10_000
const TOKEN_KEY = 'sotapool.monitorToken'
const EPOCHS_SHOWN = 10
const UNITS_PER_ALPHA = 1_000_000_000n

// ---- API ------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === 'string' ? detail : `HTTP ${status}`)
    this.status = status
    this.detail = detail
  }
}

/** GET a JSON body; non-2xx answers (except `accept` statuses, e.g. a degraded /health) throw ApiError. */
async function getJson(url, { headers = {}, accept = [] } = {}) {
  const response = await fetch(url, { headers: { accept: 'application/json', ...headers }, cache: 'no-store' })
  const body = await response.json().catch(() => null)
  if (!response.ok && !accept.includes(response.status)) {
    const detail = body?.detail
    throw new ApiError(
      response.status,
      Array.isArray(detail) ? detail.map((d) => d.msg).join('; ') : (detail ?? response.statusText),
    )
  }
  return body
}

const claimsUrl = (path) => `${CONFIG.claimsPrefix}${path}`

async function loadEpochs() {
  const list = await getJson(claimsUrl('/epochs'))
  const metas = await Promise.all(list.epochs.slice(0, EPOCHS_SHOWN).map((id) => getJson(claimsUrl(`/epoch/${id}`))))
  return { ids: list.epochs, defaultEpoch: list.default_epoch, metas }
}

/** Everything the page shows, fetched in parallel; each section fails on its own. */
async function loadAll(token, chartTaskType) {
  const sections = {
    health: getJson('/health', { accept: [503] }),
    monitor: getJson('/api/v1/monitor/summary', { headers: token ? { 'x-monitor-token': token } : {} }),
    leaderboard: getJson('/api/v1/miners/leaderboard?limit=20'),
    sota: Promise.all(CONFIG.taskTypes.map((t) => getJson(`/api/v1/results/sota?task_type=${encodeURIComponent(t)}`))),
    history: getJson(`/api/v1/results/sota/history?task_type=${encodeURIComponent(chartTaskType)}&limit=500`),
    epochs: CONFIG.claimsPrefix === null ? Promise.resolve(null) : loadEpochs(),
  }
  const names = Object.keys(sections)
  const settled = await Promise.allSettled(Object.values(sections))
  return Object.fromEntries(names.map((name, i) => [name, settled[i]]))
}

// ---- formatting -----------------------------------------------------------------------------------

const fmtNumber = (x, digits = 6) =>
  typeof x === 'number' ? x.toLocaleString('en-US', { maximumFractionDigits: digits }) : '—'

function fmtDuration(seconds) {
  const m = Math.floor(seconds / 60)
  const s = seconds % 60
  return m > 0 ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`
}

/** Units (integer or decimal string) as alpha with every digit kept: BigInt, never a float. */
function fmtAlpha(units) {
  if (units === null || units === undefined) return '—'
  const u = BigInt(units)
  const whole = u / UNITS_PER_ALPHA
  const frac = (u % UNITS_PER_ALPHA).toString().padStart(9, '0').replace(/0+$/, '')
  return `${whole.toLocaleString('en-US')}${frac ? `.${frac}` : ''} α`
}

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—')

// ---- small components -----------------------------------------------------------------------------

function Card({ title, testid, actions, wide, children }) {
  return html`<section class=${`card${wide ? ' wide' : ''}`} data-testid=${testid}>
    <header class="card-head"><h2>${title}</h2>${actions}</header>
    ${children}
  </section>`
}

function Stat({ label, value, testid, sub, title }) {
  return html`<div class="stat" title=${title}>
    <div class="stat-label">${label}</div>
    <div class="stat-value" data-testid=${testid}>${value}</div>
    ${sub && html`<div class="stat-sub">${sub}</div>`}
  </div>`
}

function Problem({ error, what }) {
  if (!error) return null
  return html`<p class="problem" role="alert">Could not load ${what}: ${error.message}</p>`
}

function Mono({ text, testid }) {
  return html`<span class="mono ellipsis" title=${text} data-testid=${testid}>${text}</span>`
}

const Pill = ({ kind, children, testid }) =>
  html`<span class=${`pill pill-${kind}`} data-testid=${testid}>${children}</span>`

// ---- sections -------------------------------------------------------------------------------------

function Overview({ health, monitor, sota }) {
  const hd = health.data
  const md = monitor.data
  const defaultSota = sota.data?.[0]
  const progress = hd ? 1 - (hd.tempo.window_end_block - hd.current_block) / hd.tempo.window_blocks : 0
  const needsToken = monitor.error?.status === 401 ? 'monitor token needed' : '—'
  return html`<div class="stats">
    <div class="stat">
      <div class="stat-label">Window</div>
      <div class="stat-value" data-testid="window-number">${hd ? hd.window_number : '—'}</div>
      ${
        hd &&
        html`<div class="stat-sub">
        <span data-testid="time-left" data-seconds=${hd.time_remaining_s}>${fmtDuration(hd.time_remaining_s)}</span> left
        <div class="bar" aria-hidden="true"><div style=${`width:${(progress * 100).toFixed(1)}%`}></div></div>
        block ${hd.current_block} of ${hd.tempo.window_start_block}–${hd.tempo.window_end_block}
      </div>`
      }
    </div>
    <${Stat} label="Epoch" testid="epoch-current" value=${hd ? hd.epoch.current : '—'}
      sub=${hd && `last closed: ${hd.epoch.last_closed ?? 'none'}${md?.epochs.pending_close.length ? ` · pending: ${md.epochs.pending_close.join(', ')}` : ''}`} />
    <${Stat} label="Miners" testid="miners-total" value=${md ? md.miners.total : needsToken}
      sub=${md && html`<span data-testid="miners-active">${md.miners.active_last_hour}</span> active in the last hour`} />
    <${Stat} label=${`SOTA · ${CONFIG.taskTypes[0]}`} testid="sota-value" value=${defaultSota ? fmtNumber(defaultSota.sota_threshold) : '—'}
      sub=${defaultSota && (defaultSota.algorithm_id === null ? 'nothing scored yet' : `algorithm #${defaultSota.algorithm_id} · window ${defaultSota.window_number}`)} />
    <${Stat} label="Leases (15 min)" testid="leases-issued" value=${md ? md.leases.issued_last_15m : needsToken}
      sub=${md && `${md.leases.completed_last_15m} completed · ${md.leases.expired_last_15m} expired · ${md.leases.active} active`} />
  </div>`
}

function TokenForm({ error, onSave }) {
  const [value, setValue] = useState('')
  const refused = sessionStorage.getItem(TOKEN_KEY) !== null
  const submit = (event) => {
    event.preventDefault()
    if (value.trim() !== '') onSave(value.trim())
  }
  return html`<form class="token-form" data-testid="monitor-token-form" onSubmit=${submit}>
    <p><strong>${refused ? 'The monitor token was refused.' : 'A monitor token is needed.'}</strong>
      The monitor summary answers 401 (${error.message}). Enter the pool's MONITOR_TOKEN; it is sent as
      <code>X-Monitor-Token</code> and kept in this tab's session storage only.</p>
    <div class="row">
      <input type="password" name="monitor-token" autocomplete="off" placeholder="Monitor token" aria-label="Monitor token"
        value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      <button type="submit">Use token</button>
    </div>
  </form>`
}

function Monitor({ monitor, sota, onToken, onForgetToken, hasToken }) {
  const md = monitor.data
  const forget = hasToken && html`<button class="link" onClick=${onForgetToken}>Forget token</button>`
  if (monitor.error?.status === 401) {
    return html`<${Card} title="Algorithms and alerts" testid="monitor-card"><${TokenForm} error=${monitor.error} onSave=${onToken} /><//>`
  }
  const sotaByType = Object.fromEntries((sota.data ?? []).map((s) => [s.task_type, s.sota_threshold]))
  return html`<${Card} title="Algorithms and alerts" testid="monitor-card" actions=${forget}>
    <${Problem} error=${monitor.error} what="the monitor summary" />
    ${
      md &&
      html`
      <table data-testid="algorithms-table">
        <thead><tr><th>Task type</th><th class="num">Evaluating</th><th class="num">Scored</th><th class="num">Rejected</th><th class="num">SOTA</th></tr></thead>
        <tbody>${Object.entries(md.algorithms).map(
          ([taskType, c]) => html`
          <tr data-task-type=${taskType}>
            <td class="mono">${taskType}</td>
            <td class="num" data-testid="algorithms-evaluating">${c.evaluating}</td>
            <td class="num" data-testid="algorithms-scored">${c.scored}</td>
            <td class="num" data-testid="algorithms-rejected">${c.rejected}</td>
            <td class="num">${fmtNumber(sotaByType[taskType] ?? md.sota[taskType])}</td>
          </tr>`,
        )}
        </tbody>
      </table>
      <div class="alerts" data-testid="alerts">
        <h3>Alerts <${Pill} kind=${md.alerts.overall} testid="alerts-overall">${md.alerts.overall}<//></h3>
        ${
          md.alerts.items.length === 0
            ? html`<p class="muted">No alerts.</p>`
            : html`<ul>${md.alerts.items.map((a) => html`<li><${Pill} kind=${a.severity}>${a.severity}<//> <code>${a.code}</code> ${a.message}</li>`)}</ul>`
        }
      </div>
      ${
        md.credit &&
        html`<p data-testid="monitor-credit">Epoch ${md.credit.epoch}: paid ${fmtAlpha(md.credit.epoch_units)} of ${fmtAlpha(md.credit.budget_units)},
        fee ${fmtAlpha(md.credit.fee_units)}, <span data-testid="monitor-undistributed">undistributed ${fmtAlpha(md.credit.undistributed_units)}</span>.
        ${
          md.credit.awaiting_recipient.miners > 0
            ? html`<${Pill} kind="warn" testid="monitor-awaiting">${md.credit.awaiting_recipient.miners} credited, waiting for a recipient: ${fmtAlpha(md.credit.awaiting_recipient.units)}<//>`
            : html`<span class="muted">No credit is waiting for a recipient.</span>`
        }</p>`
      }
      <p class="muted small">Zero-evaluation ratio ${fmtNumber(md.leases.zero_evaluation_ratio * 100, 1)}% · overdue active leases ${md.leases.overdue_active} · generated ${fmtTime(md.generated_at)}</p>`
    }
  <//>`
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim()
}

const DARK = window.matchMedia('(prefers-color-scheme: dark)')

function SotaChart({ points }) {
  const box = useRef(null)
  // uPlot draws on a canvas with colours read once: redraw when the colour scheme flips.
  const [dark, setDark] = useState(DARK.matches)
  useEffect(() => {
    const follow = () => setDark(DARK.matches)
    DARK.addEventListener('change', follow)
    return () => DARK.removeEventListener('change', follow)
  }, [])
  const last = points[points.length - 1]
  const key = `${points.length}:${last?.algorithm_id}:${last?.sota}:${dark}`
  useEffect(() => {
    if (box.current === null || points.length === 0) return undefined
    const data = [
      points.map((p) => Date.parse(p.decided_at) / 1000),
      points.map((p) => p.sota),
      points.map((p) => p.consensus_score),
    ]
    const fg = cssVar('--muted')
    const grid = cssVar('--border')
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
    const plot = new uPlot(
      {
        width: box.current.clientWidth,
        height: 260,
        scales: {
          x: { time: true, range: (_u, min, max) => (min === max ? [min - 1800, max + 1800] : [min, max]) },
          y: { range: (_u, min, max) => [Math.max(0, min - 0.05), Math.min(1, max + 0.05)] },
        },
        axes: [axis, { ...axis, label: 'score', size: 56 }],
        series: [
          { label: 'decided' },
          {
            label: 'SOTA',
            stroke: cssVar('--accent'),
            width: 2,
            paths: uPlot.paths.stepped({ align: 1 }),
            points: { show: false },
            value: (_u, v) => fmtNumber(v),
          },
          {
            label: 'consensus score',
            stroke: fg,
            paths: () => null,
            points: { show: true, size: 6, stroke: fg, fill: fg },
            value: (_u, v) => fmtNumber(v),
          },
        ],
      },
      data,
      box.current,
    )
    const resize = new ResizeObserver(() => plot.setSize({ width: box.current.clientWidth, height: 260 }))
    resize.observe(box.current)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [key])
  if (points.length === 0)
    return html`<p class="muted" data-testid="sota-chart-empty">No algorithm of this task type has been scored yet.</p>`
  return html`<div ref=${box} class="chart" data-testid="sota-chart" data-points=${points.length}></div>`
}

function SotaHistory({ history, taskType, onTaskType }) {
  const select =
    CONFIG.taskTypes.length > 1 &&
    html`<select aria-label="Task type" value=${taskType} onChange=${(e) => onTaskType(e.currentTarget.value)}>
    ${CONFIG.taskTypes.map((t) => html`<option value=${t}>${t}</option>`)}
  </select>`
  const points = history.data?.task_type === taskType ? history.data.points : []
  const last = points[points.length - 1]
  return html`<${Card} title="SOTA over time" testid="sota-card" actions=${select || html`<span class="muted mono">${taskType}</span>`}>
    <${Problem} error=${history.error} what="the SOTA history" />
    <${SotaChart} points=${points} />
    ${last && html`<p class="muted small">${points.length} scored algorithm${points.length === 1 ? '' : 's'} shown; best ${fmtNumber(last.sota)} as of window ${last.window_number}.</p>`}
  <//>`
}

function Leaderboard({ leaderboard, onPick }) {
  const miners = leaderboard.data?.miners ?? []
  return html`<${Card} title="Leaderboard" testid="leaderboard-card" wide=${true}>
    <${Problem} error=${leaderboard.error} what="the leaderboard" />
    ${
      miners.length === 0 && !leaderboard.error
        ? html`<p class="muted">No miner yet.</p>`
        : html`<table data-testid="leaderboard">
          <thead><tr><th class="num">#</th><th>Hotkey</th><th class="num">Reputation</th><th>Last seen</th><th></th></tr></thead>
          <tbody>${miners.map(
            (m) => html`<tr key=${m.hotkey}>
            <td class="num">${m.rank}</td>
            <td class="hotkey"><${Mono} text=${m.hotkey} testid="leaderboard-hotkey" /></td>
            <td class="num" data-testid="leaderboard-reputation">${fmtNumber(m.reputation)}</td>
            <td class="small">${fmtTime(m.last_seen)}</td>
            <td><button class="link" title="Look up this hotkey's claim" onClick=${() => onPick(m.hotkey)}>claim</button></td>
          </tr>`,
          )}</tbody>
        </table>`
    }
  <//>`
}

function Epochs({ epochs }) {
  if (CONFIG.claimsPrefix === null) {
    return html`<${Card} title="Recent epochs" testid="epochs-card"><p class="muted">The claim app is not mounted (MERKLE_CLAIM_ENABLED=false).</p><//>`
  }
  const metas = epochs.data?.metas ?? []
  return html`<${Card} title="Recent epochs" testid="epochs-card" wide=${true}>
    <${Problem} error=${epochs.error} what="the epochs" />
    ${
      metas.length === 0 && !epochs.error
        ? html`<p class="muted">No epoch has closed yet.</p>`
        : html`<div class="scroll"><table data-testid="epochs">
          <thead><tr><th class="num">Epoch</th><th>Status</th><th>Windows</th><th class="num">Leaves</th><th class="num">Total (cumulative)</th><th class="num">Paid this epoch</th><th class="num">Fee</th><th class="num">Undistributed</th><th>Root</th><th>Closed</th></tr></thead>
          <tbody>${metas.map(
            (e) => html`<tr key=${e.epoch} data-epoch=${e.epoch}>
            <td class="num" data-testid="epoch-id">${e.epoch}</td>
            <td><${Pill} kind=${e.status === 'claimable' ? 'ok' : 'muted'}>${e.status}<//>${e.epoch === epochs.data.defaultEpoch ? html` <${Pill} kind="accent">default<//>` : ''}
              ${e.awaiting_recipient && e.awaiting_recipient.miners > 0 ? html` <span data-testid="epoch-awaiting" title="No leaf until a recipient coldkey is set; the next epoch close after that puts the whole credit in a leaf"><${Pill} kind="warn">${e.awaiting_recipient.miners} credited, waiting for a recipient (${fmtAlpha(e.awaiting_recipient.units)})<//></span>` : ''}</td>
            <td class="small">${e.window_start}–${e.window_end}</td>
            <td class="num" data-testid="epoch-leaves">${e.num_of_leaves}</td>
            <td class="num" title=${`${e.total_units} units`}>${fmtAlpha(e.total_units)}</td>
            <td class="num" title=${`${e.epoch_units} units`}>${fmtAlpha(e.epoch_units)}</td>
            <td class="num" title=${`${e.fee_units} units`}>${fmtAlpha(e.fee_units)}</td>
            <td class="num" data-testid="epoch-undistributed" title=${`${e.undistributed_units} units left undistributed (miner cap)`}>${fmtAlpha(e.undistributed_units)}</td>
            <td class="root"><${Mono} text=${e.root} testid="epoch-root" /></td>
            <td class="small">${fmtTime(e.closed_at)}</td>
          </tr>`,
          )}</tbody>
        </table></div>`
    }
  <//>`
}

/** Fetches the proof package and the epoch's published root, then verifies locally. */
async function lookUpClaim(hotkey, epoch) {
  const path =
    epoch === '' ? `/epoch/proof/${encodeURIComponent(hotkey)}` : `/epoch/${epoch}/proof/${encodeURIComponent(hotkey)}`
  const pkg = await getJson(claimsUrl(path))
  const meta = await getJson(claimsUrl(`/epoch/${pkg.epoch}`))
  return { pkg, meta, check: checkProofPackage(pkg, meta.root) }
}

function ClaimResult({ result }) {
  const { pkg, meta, check } = result
  return html`<div class="claim-result">
    <div class=${`verdict ${check.ok ? 'verdict-ok' : 'verdict-bad'}`} data-testid="claim-verdict" data-ok=${String(check.ok)}>
      ${
        check.ok
          ? html`<strong>✔ Proof verifies.</strong> Recomputed in this browser, the leaf of index ${pkg.index} folds through ${pkg.proof.length} proof hash${pkg.proof.length === 1 ? '' : 'es'} to the root epoch ${meta.epoch} publishes.`
          : html`<strong>✘ Proof does not verify.</strong><ul>${check.problems.map((p) => html`<li>${p}</li>`)}</ul>`
      }
    </div>
    <dl class="fields">
      <dt>Epoch</dt><dd data-testid="claim-epoch">${pkg.epoch}</dd>
      <dt>Index</dt><dd>${pkg.index}</dd>
      <dt>Hotkey</dt><dd class="mono">${pkg.hotkey}</dd>
      <dt>Recipient</dt><dd class="mono">${pkg.recipient_coldkey}</dd>
      <dt>Amount</dt><dd data-testid="claim-amount">${fmtAlpha(pkg.amount_units)} <span class="muted">(${String(pkg.amount_units)} units, cumulative)</span></dd>
      <dt>Leaf</dt><dd class="mono">${pkg.leaf}${check.leaf !== null && check.leaf !== pkg.leaf ? html` <span class="bad">recomputed ${check.leaf}</span>` : ''}</dd>
      <dt>Epoch root</dt><dd class="mono" data-testid="claim-root">${meta.root}</dd>
      <dt>Proof</dt><dd class="mono">${pkg.proof.length === 0 ? html`<span class="muted">empty (single leaf)</span>` : html`<ol class="proof">${pkg.proof.map((p) => html`<li>${p}</li>`)}</ol>`}</dd>
      <dt>Format</dt><dd class="mono">${pkg.format}</dd>
    </dl>
    <details><summary>Proof package (JSON)</summary><pre data-testid="claim-json">${JSON.stringify(pkg, null, 2)}</pre></details>
  </div>`
}

function ClaimLookup({ epochs, hotkey, setHotkey }) {
  const [epoch, setEpoch] = useState('')
  const [state, setState] = useState({ busy: false, result: null, error: null })
  const submit = async (event) => {
    event.preventDefault()
    if (hotkey.trim() === '') return
    setState({ busy: true, result: null, error: null })
    try {
      setState({ busy: false, result: await lookUpClaim(hotkey.trim(), epoch), error: null })
    } catch (error) {
      setState({ busy: false, result: null, error })
    }
  }
  if (CONFIG.claimsPrefix === null) {
    return html`<${Card} title="Claim lookup" testid="claim-card"><p class="muted">The claim app is not mounted (MERKLE_CLAIM_ENABLED=false).</p><//>`
  }
  const ids = epochs.data?.ids ?? []
  return html`<${Card} title="Claim lookup" testid="claim-card" wide=${true}>
    <form class="row" onSubmit=${submit} data-testid="claim-form">
      <input class="grow mono" name="hotkey" placeholder="Hotkey (SS58)" aria-label="Hotkey" autocomplete="off" spellcheck="false"
        value=${hotkey} onInput=${(e) => setHotkey(e.currentTarget.value)} />
      <select name="epoch" aria-label="Epoch" value=${epoch} onChange=${(e) => setEpoch(e.currentTarget.value)}>
        <option value="">Default epoch${epochs.data?.defaultEpoch !== null && epochs.data?.defaultEpoch !== undefined ? ` (${epochs.data.defaultEpoch})` : ''}</option>
        ${ids.map((id) => html`<option value=${String(id)}>Epoch ${id}</option>`)}
      </select>
      <button type="submit" disabled=${state.busy}>${state.busy ? 'Looking up…' : 'Look up'}</button>
    </form>
    ${state.error && html`<p class="problem" role="alert" data-testid="claim-error">${state.error.status === 404 ? `No claim: ${state.error.message}` : `Lookup failed: ${state.error.message}`}</p>`}
    ${state.result && html`<${ClaimResult} result=${state.result} />`}
  <//>`
}

function Footer({ disclaimer }) {
  return html`<footer class="footer">
    ${disclaimer && html`<p><strong>${disclaimer.title}.</strong> ${disclaimer.summary} <a href=${disclaimer.url ?? '/api/v1/disclaimer.md'}>Read the full text</a>.</p>`}
    <p class="muted small">API: <a href="/docs">Swagger UI</a> · <a href="/redoc">Redoc</a> · <a href="/openapi.json">openapi.json</a> · <a href="/metrics">metrics</a></p>
  </footer>`
}

// ---- the page -------------------------------------------------------------------------------------

const EMPTY = { data: null, error: null }
const SECTION_NAMES = ['health', 'monitor', 'leaderboard', 'sota', 'history', 'epochs']

function App() {
  const [sections, setSections] = useState(Object.fromEntries(SECTION_NAMES.map((n) => [n, EMPTY])))
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY))
  const [chartTaskType, setChartTaskType] = useState(CONFIG.taskTypes[0])
  const [updatedAt, setUpdatedAt] = useState(null)
  const [loading, setLoading] = useState(false)
  const [claimHotkey, setClaimHotkey] = useState('')
  const [disclaimer, setDisclaimer] = useState(null)
  const inFlight = useRef(false)

  const refresh = useCallback(async () => {
    if (inFlight.current) return
    inFlight.current = true
    setLoading(true)
    try {
      const results = await loadAll(token, chartTaskType)
      setSections((previous) =>
        Object.fromEntries(
          SECTION_NAMES.map((name) => {
            const r = results[name]
            if (r.status === 'fulfilled') return [name, { data: r.value, error: null }]
            // Keep the last good numbers on a transient failure, but never monitor data once a token is refused.
            const keep = name === 'monitor' && r.reason?.status === 401 ? null : previous[name].data
            return [name, { data: keep, error: r.reason }]
          }),
        ),
      )
      setUpdatedAt(new Date())
    } finally {
      inFlight.current = false
      setLoading(false)
    }
  }, [token, chartTaskType])

  useEffect(() => {
    refresh()
    const timer = setInterval(refresh, REFRESH_MS)
    return () => clearInterval(timer)
  }, [refresh])

  useEffect(() => {
    getJson('/api/v1/disclaimer').then(setDisclaimer, () => setDisclaimer(null))
  }, [])

  const saveToken = (value) => {
    sessionStorage.setItem(TOKEN_KEY, value)
    setToken(value)
  }
  const forgetToken = () => {
    sessionStorage.removeItem(TOKEN_KEY)
    setToken(null)
  }
  const pickHotkey = (hotkey) => {
    setClaimHotkey(hotkey)
    document.querySelector('[data-testid="claim-card"]')?.scrollIntoView({ behavior: 'smooth' })
  }

  const hd = sections.health.data
  return html`<div class="page">
    <header class="top">
      <div>
        <h1>sotapool <span class="muted">operator dashboard</span></h1>
        <p class="muted small">${hd ? html`v${hd.version} · ${hd.database.dialect} · blocks from ${hd.tempo.source}${hd.tempo.source === 'chain' && !hd.tempo.chain_connected ? ' (disconnected)' : ''}` : 'connecting…'}</p>
      </div>
      <div class="top-right">
        ${hd && html`<${Pill} kind=${hd.status === 'healthy' ? 'ok' : 'critical'} testid="health-status">${hd.status}<//>`}
        <span class="muted small" data-testid="updated-at">${updatedAt ? `updated ${updatedAt.toLocaleTimeString()} · every ${REFRESH_MS / 1000} s` : 'loading…'}</span>
        <button onClick=${refresh} disabled=${loading}>Refresh</button>
      </div>
    </header>
    <${Problem} error=${sections.health.error} what="/health" />
    <${Overview} health=${sections.health} monitor=${sections.monitor} sota=${sections.sota} />
    <main class="grid">
      <${Monitor} monitor=${sections.monitor} sota=${sections.sota} onToken=${saveToken} onForgetToken=${forgetToken} hasToken=${token !== null} />
      <${SotaHistory} history=${sections.history} taskType=${chartTaskType} onTaskType=${setChartTaskType} />
      <${Leaderboard} leaderboard=${sections.leaderboard} onPick=${pickHotkey} />
      <${Epochs} epochs=${sections.epochs} />
      <${ClaimLookup} epochs=${sections.epochs} hotkey=${claimHotkey} setHotkey=${setClaimHotkey} />
    </main>
    <${Footer} disclaimer=${disclaimer} />
  </div>`
}

render(html`<${App} />`, document.getElementById('app'))
