// The monitor's alert rules: each code is raised when its condition holds and not just below its threshold.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  alertSummary,
  CHAIN_STALE_MS,
  chainIsStale,
  EPOCH_OVERDUE_MS,
  epochIsOverdue,
  graceBlocks,
  monitorAlerts,
  overdueLeaseCutoff,
  pendingCloseEpochs,
  zeroEvaluationRatio,
  type AlertFacts,
  type ChainFacts,
} from '../../src/domain/alerts.ts'

const NOW = 1_700_000_000_000

/** A pool with nothing wrong: no alert. */
const HEALTHY: AlertFacts = {
  now: NOW,
  databaseOk: true,
  chain: { source: 'clock', lastBlockAt: NOW - 1_000 },
  pendingClose: [],
  closeFailure: undefined,
  overdueEpochs: [],
  closerRunning: true,
  overdueLeases: 0,
  recentLeases: { submitted: 10, withoutEvaluation: 0 },
  activeMinersLastHour: 3,
}

const codes = (facts: Partial<AlertFacts>): string[] => monitorAlerts({ ...HEALTHY, ...facts }).map((a) => a.code)
const only = (facts: Partial<AlertFacts>) => {
  const alerts = monitorAlerts({ ...HEALTHY, ...facts })
  assert.equal(alerts.length, 1, JSON.stringify(alerts))
  return alerts[0]!
}

describe('alert rules', () => {
  it('raises nothing for a healthy pool', () => {
    assert.deepEqual(monitorAlerts(HEALTHY), [])
    assert.deepEqual(alertSummary([]), { overall: 'ok', counts: { critical: 0, warn: 0 }, items: [] })
  })

  it('DATABASE_UNREACHABLE when the database does not answer', () => {
    assert.deepEqual(only({ databaseOk: false }), {
      code: 'DATABASE_UNREACHABLE',
      severity: 'critical',
      message: 'the database does not answer',
    })
  })

  it('CHAIN_STALE when the chain has given no block for more than 5 minutes, or none at all', () => {
    const chain = (lastBlockAt: number | null): ChainFacts => ({ source: 'chain', lastBlockAt })
    assert.deepEqual(codes({ chain: chain(NOW - CHAIN_STALE_MS) }), [], 'exactly 5 minutes is not stale yet')
    assert.deepEqual(only({ chain: chain(NOW - CHAIN_STALE_MS - 1) }), {
      code: 'CHAIN_STALE',
      severity: 'critical',
      message: `no block from the chain since ${new Date(NOW - CHAIN_STALE_MS - 1).toISOString().replace(/\.\d+Z$/, 'Z')}`,
    })
    assert.equal(only({ chain: chain(null) }).message, 'no block from the chain since start')
    // Blocks counted by the clock are never stale.
    assert.deepEqual(codes({ chain: { source: 'clock', lastBlockAt: null } }), [])
    assert.equal(chainIsStale({ source: 'chain', lastBlockAt: NOW - CHAIN_STALE_MS - 1 }, NOW), true)
    assert.equal(chainIsStale({ source: 'chain', lastBlockAt: NOW }, NOW), false)
  })

  it('EPOCH_CLOSE_PENDING: warn for one epoch, critical for two or more', () => {
    assert.deepEqual(only({ pendingClose: [4] }), {
      code: 'EPOCH_CLOSE_PENDING',
      severity: 'warn',
      message: 'epochs ready but not closed: 4',
    })
    assert.deepEqual(only({ pendingClose: [4, 5] }), {
      code: 'EPOCH_CLOSE_PENDING',
      severity: 'critical',
      message: 'epochs ready but not closed: 4, 5',
    })
  })

  it('EPOCH_CLOSE_FAILING with the epoch, attempts, first failure and cause', () => {
    const alert = only({
      closeFailure: { epoch: 3, error: 'payouts: boom', first_failed_at: NOW - 60_000, attempts: 4 },
    })
    assert.deepEqual(alert, {
      code: 'EPOCH_CLOSE_FAILING',
      severity: 'critical',
      message: 'epoch 3 failed to close (4 attempt(s) since 2023-11-14T22:12:20Z, retried every run): payouts: boom',
    })
  })

  it('EPOCH_OVERDUE for epochs ready for 5 minutes or more', () => {
    assert.deepEqual(only({ overdueEpochs: [0, 1] }), {
      code: 'EPOCH_OVERDUE',
      severity: 'critical',
      message: 'epochs ready for 5 minutes or more and not closed: 0, 1',
    })
  })

  it('an epoch is overdue once ready for EPOCH_OVERDUE_MS, counted in whole blocks', () => {
    assert.equal(EPOCH_OVERDUE_MS, 5 * 60 * 1000)
    // 12 s blocks: 5 minutes are 25 blocks.
    assert.equal(epochIsOverdue(24, 12), false, 'just below 5 minutes')
    assert.equal(epochIsOverdue(25, 12), true, 'exactly 5 minutes')
    assert.equal(epochIsOverdue(26, 12), true)
    assert.equal(epochIsOverdue(-1, 12), false, 'not ready yet')
    // 7 s blocks: 300 / 7 = 42.9, so the 43rd block is the first at 5 minutes or more.
    assert.equal(epochIsOverdue(42, 7), false, '294 s')
    assert.equal(epochIsOverdue(43, 7), true, '301 s')
  })

  it('EPOCH_CLOSER_STOPPED when this process runs no background jobs', () => {
    assert.deepEqual(only({ closerRunning: false }), {
      code: 'EPOCH_CLOSER_STOPPED',
      severity: 'warn',
      message:
        'this process does not run the epoch closer (BACKGROUND_JOBS=false); another process or `sotapool epoch close` must',
    })
  })

  it('OVERDUE_LEASES for any active assignment past its timeout plus grace', () => {
    assert.deepEqual(only({ overdueLeases: 1 }), {
      code: 'OVERDUE_LEASES',
      severity: 'warn',
      message: '1 active assignment(s) past their timeout not expired yet',
    })
    assert.equal(only({ overdueLeases: 7 }).message, '7 active assignment(s) past their timeout not expired yet')
  })

  it('ZERO_EVALUATION_LEASES above half of at least 5 recent leases', () => {
    assert.deepEqual(only({ recentLeases: { submitted: 5, withoutEvaluation: 3 } }), {
      code: 'ZERO_EVALUATION_LEASES',
      severity: 'warn',
      message: '60% of leases submitted in the last 15 minutes carried no evaluation',
    })
    assert.deepEqual(codes({ recentLeases: { submitted: 4, withoutEvaluation: 4 } }), [], 'fewer than 5 leases')
    assert.deepEqual(codes({ recentLeases: { submitted: 10, withoutEvaluation: 5 } }), [], 'exactly half')
    assert.deepEqual(codes({ recentLeases: { submitted: 10, withoutEvaluation: 6 } }), ['ZERO_EVALUATION_LEASES'])
    assert.deepEqual(codes({ recentLeases: { submitted: 0, withoutEvaluation: 0 } }), [])
  })

  it('NO_ACTIVE_MINERS when no miner was seen in the last hour', () => {
    assert.deepEqual(only({ activeMinersLastHour: 0 }), {
      code: 'NO_ACTIVE_MINERS',
      severity: 'warn',
      message: 'no miner was seen in the last hour',
    })
    assert.deepEqual(codes({ activeMinersLastHour: 1 }), [])
  })

  it('lists every alert that holds in a fixed order, and summarizes the worst severity', () => {
    const alerts = monitorAlerts({
      ...HEALTHY,
      databaseOk: false,
      chain: { source: 'chain', lastBlockAt: null },
      pendingClose: [1],
      closeFailure: { epoch: 1, error: 'x', first_failed_at: NOW, attempts: 1 },
      overdueEpochs: [1],
      closerRunning: false,
      overdueLeases: 2,
      recentLeases: { submitted: 6, withoutEvaluation: 6 },
      activeMinersLastHour: 0,
    })
    assert.deepEqual(
      alerts.map((a) => a.code),
      [
        'DATABASE_UNREACHABLE',
        'CHAIN_STALE',
        'EPOCH_CLOSE_PENDING',
        'EPOCH_CLOSE_FAILING',
        'EPOCH_OVERDUE',
        'EPOCH_CLOSER_STOPPED',
        'OVERDUE_LEASES',
        'ZERO_EVALUATION_LEASES',
        'NO_ACTIVE_MINERS',
      ],
    )
    const summary = alertSummary(alerts)
    assert.equal(summary.overall, 'critical')
    assert.deepEqual(summary.counts, { critical: 4, warn: 5 })
    const warnOnly = alertSummary(monitorAlerts({ ...HEALTHY, closerRunning: false }))
    assert.equal(warnOnly.overall, 'warn')
    assert.deepEqual(warnOnly.counts, { critical: 0, warn: 1 })
  })
})

describe('grace periods and ratios', () => {
  it('an epoch is pending once it has been ready for the whole grace period, not a block earlier', () => {
    const grace = graceBlocks(60, 12)
    assert.equal(grace, 5)
    assert.equal(graceBlocks(61, 12), 6, 'rounded up to whole blocks')
    assert.equal(graceBlocks(0, 12), 0)
    const unclosed = [
      { epoch: 3, blocksSinceReady: 40 },
      { epoch: 4, blocksSinceReady: 5 },
      { epoch: 5, blocksSinceReady: 4 },
      { epoch: 6, blocksSinceReady: -20 },
    ]
    assert.deepEqual(pendingCloseEpochs(unclosed, grace), [3, 4])
    assert.deepEqual(pendingCloseEpochs(unclosed, 0), [3, 4, 5])
    assert.deepEqual(pendingCloseEpochs([], grace), [])
  })

  it('lists at most 100 pending epochs', () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ epoch: i, blocksSinceReady: 1_000 }))
    assert.equal(pendingCloseEpochs(many, 5).length, 100)
  })

  it('a lease is overdue only once it is past its timeout by the grace period', () => {
    assert.equal(overdueLeaseCutoff(NOW, 60), NOW - 60_000)
    assert.equal(overdueLeaseCutoff(NOW, 0), NOW)
  })

  it('the zero-evaluation ratio is 0 without recent leases', () => {
    assert.equal(zeroEvaluationRatio({ submitted: 0, withoutEvaluation: 0 }), 0)
    assert.equal(zeroEvaluationRatio({ submitted: 4, withoutEvaluation: 1 }), 0.25)
  })
})
