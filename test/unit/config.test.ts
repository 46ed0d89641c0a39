// Configuration (SPEC §1): defaults, and a bad value stops start-up with a ConfigError naming the variable.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CONFIG_VARIABLES, ConfigError, loadConfig, unknownVariables } from '../../src/config.ts'
import { defaultTaskType } from '../../src/domain/task-types.ts'
import { encodeHotkey } from '../../src/crypto/sr25519.ts'
import { twoBytePrefixSpelling } from '../support/ss58.ts'

const verifierA = encodeHotkey(new Uint8Array(32).fill(1))
const verifierB = encodeHotkey(new Uint8Array(32).fill(2))

const refuses = (env: Record<string, string>, variable: string, reason?: RegExp): void => {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(err)}`)
      assert.equal(err.variable, variable)
      assert.ok(err.message.startsWith(`invalid configuration: ${variable} `), err.message)
      if (reason !== undefined) assert.match(err.message, reason)
      return true
    },
    JSON.stringify(env),
  )
}

describe('defaults', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = loadConfig({})
    assert.equal(config.environment, 'development')
    assert.equal(config.apiHost, '127.0.0.1')
    assert.equal(config.apiPort, 8434)
    assert.equal(config.databaseUrl, 'sqlite:./data/pool.db')
    assert.equal(config.maxBodyBytes, 1024 * 1024)
    assert.equal(config.authMaxSkewS, 300)
    assert.equal(config.blockTimeS, 12)
    assert.equal(config.windowBlocks, 360)
    assert.equal(config.epochWindows, 1)
    assert.deepEqual(config.taskTypes, ['cifar10_binary'])
    assert.equal(defaultTaskType(config.taskTypes), 'cifar10_binary')
    assert.equal(config.leaseEvolveBudget, 1)
    assert.equal(config.leaseMinIterations, 0)
    assert.equal(config.consensusSampleSize, 3)
    assert.equal(config.consensusThreshold, 2)
    assert.equal(config.merkleClaimEnabled, true)
    assert.equal(config.merkleClaimPathPrefix, '/claims')
    assert.equal(config.merkleClaimPort, 8844)
    assert.equal(config.merkleClaimSimulationEnabled, true)
    assert.equal(config.monitorToken, '')
    assert.equal(config.chainEndpoint, '')
    assert.equal(config.disclaimerFile, '')
    assert.equal(config.epochBudgetUnits, 1_000_000_000n)
    assert.deepEqual(config.verifierHotkeys, [])
  })

  test("every variable's documented default parses", () => {
    for (const variable of Object.values(CONFIG_VARIABLES)) {
      assert.doesNotThrow(() => loadConfig({ [variable.name]: variable.default }), variable.name)
      assert.ok(variable.description.length > 10, `${variable.name} needs a description`)
    }
  })

  test('values are read and trimmed', () => {
    const config = loadConfig({
      API_PORT: ' 9000 ',
      TASK_TYPES: 'cifar10_binary, mnist_binary ,',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/pool',
      EPOCH_BUDGET_UNITS: '9223372036854775807',
      VERIFIER_HOTKEYS: `${verifierA}, ${verifierB}`,
      BACKGROUND_JOBS: 'off',
      TOLERANCE_RATIO: '0.25',
    })
    assert.equal(config.apiPort, 9000)
    assert.deepEqual(config.taskTypes, ['cifar10_binary', 'mnist_binary'])
    assert.equal(config.databaseUrl, 'postgres://postgres@127.0.0.1:5432/pool')
    assert.equal(config.epochBudgetUnits, 2n ** 63n - 1n)
    assert.deepEqual(config.verifierHotkeys, [verifierA, verifierB])
    assert.equal(config.backgroundJobs, false)
    assert.equal(config.toleranceRatio, 0.25)
  })
})

describe('a bad value names its variable', () => {
  const cases: Array<[Record<string, string>, string, RegExp?]> = [
    [{ API_PORT: 'abc' }, 'API_PORT', /must be an integer, got "abc"/],
    [{ API_PORT: '65536' }, 'API_PORT', /between 0 and 65535/],
    [{ API_PORT: '80.5' }, 'API_PORT'],
    [{ POOL_FEE_BPS: '20000' }, 'POOL_FEE_BPS', /between 0 and 10000, got 20000/],
    [{ POOL_FEE_BPS: '-1' }, 'POOL_FEE_BPS'],
    [{ DATABASE_URL: 'mysql://root@localhost/pool' }, 'DATABASE_URL', /sqlite: or postgres:\/\//],
    [{ DATABASE_URL: '' }, 'DATABASE_URL'],
    [{ TASK_TYPES: '' }, 'TASK_TYPES', /at least one task type/],
    [{ TASK_TYPES: ' , ' }, 'TASK_TYPES'],
    [{ TASK_TYPES: 'CIFAR-10' }, 'TASK_TYPES', /invalid task type "CIFAR-10"/],
    [{ VERIFIER_HOTKEYS: 'not-an-address' }, 'VERIFIER_HOTKEYS', /not an SS58 address/],
    // A verifier named by the other spelling of its key would never match a signed request.
    [
      { VERIFIER_HOTKEYS: `${verifierA},${twoBytePrefixSpelling(verifierB)}` },
      'VERIFIER_HOTKEYS',
      new RegExp(`use ${verifierB}`),
    ],
    [{ ENVIRONMENT: 'staging' }, 'ENVIRONMENT', /development, production/],
    [{ MAX_BODY_BYTES: '10' }, 'MAX_BODY_BYTES'],
    [{ AUTH_MAX_SKEW_S: '0' }, 'AUTH_MAX_SKEW_S'],
    [{ EPOCH_BUDGET_UNITS: '18446744073709551616' }, 'EPOCH_BUDGET_UNITS', /2\^63/],
    [{ EPOCH_BUDGET_UNITS: '1e9' }, 'EPOCH_BUDGET_UNITS'],
    [{ TOLERANCE_RATIO: 'NaN' }, 'TOLERANCE_RATIO'],
    [{ BACKGROUND_JOBS: 'maybe' }, 'BACKGROUND_JOBS', /true or false/],
    [{ MERKLE_CLAIM_PATH_PREFIX: 'claims/' }, 'MERKLE_CLAIM_PATH_PREFIX'],
    [{ SUBTENSOR_CHAIN_ENDPOINT: 'http://node:9944' }, 'SUBTENSOR_CHAIN_ENDPOINT', /ws:\/\/ or wss:\/\//],
    [{ EVOLVER_BASELINE: 'best' }, 'EVOLVER_BASELINE'],
    [{ MERKLE_CLAIM_SIMULATION_ENABLED: 'sometimes' }, 'MERKLE_CLAIM_SIMULATION_ENABLED'],
    [{ DISCLAIMER_FILE: '/nonexistent/disclaimer.md' }, 'DISCLAIMER_FILE', /readable file/],
    [{ DISCLAIMER_FILE: tmpdir() }, 'DISCLAIMER_FILE', /readable file/],
    [{ DATABASE_URL: 'sqlite:' }, 'DATABASE_URL', /sqlite::memory:/],
    [{ VERIFIER_HOTKEYS: 'bad' }, 'VERIFIER_HOTKEYS', /"bad", which is not a canonical SS58 hotkey/],
    [
      {
        VERIFIER_HOTKEYS:
          '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY,5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ',
      },
      'VERIFIER_HOTKEYS',
      /KutQZ/,
    ],
    [{ ENVIRONMENT: 'production' }, 'MONITOR_TOKEN', /must be set when ENVIRONMENT=production/],
    [{ REQUEST_LOG_LEVEL: 'loud' }, 'REQUEST_LOG_LEVEL'],
  ]
  for (const [env, variable, reason] of cases) {
    test(`${JSON.stringify(env)} → ConfigError(${variable})`, () => {
      refuses(env, variable, reason)
    })
  }

  test('CONSENSUS_THRESHOLD above CONSENSUS_SAMPLE_SIZE is refused, equal is fine', () => {
    refuses(
      { CONSENSUS_SAMPLE_SIZE: '3', CONSENSUS_THRESHOLD: '4' },
      'CONSENSUS_THRESHOLD',
      /must not exceed CONSENSUS_SAMPLE_SIZE \(3\)/,
    )
    refuses({ CONSENSUS_SAMPLE_SIZE: '1' }, 'CONSENSUS_THRESHOLD')
    const config = loadConfig({ CONSENSUS_SAMPLE_SIZE: '5', CONSENSUS_THRESHOLD: '5' })
    assert.deepEqual([config.consensusSampleSize, config.consensusThreshold], [5, 5])
  })

  test('a readable DISCLAIMER_FILE is accepted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotapool-config-'))
    try {
      const file = join(dir, 'terms.md')
      writeFileSync(file, '# Terms\n')
      assert.equal(loadConfig({ DISCLAIMER_FILE: file }).disclaimerFile, file)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('MERKLE_CLAIM_SIMULATION_ENABLED', () => {
  test('defaults to true in development and false in production', () => {
    assert.equal(loadConfig({}).merkleClaimSimulationEnabled, true)
    assert.equal(loadConfig({ ENVIRONMENT: 'development' }).merkleClaimSimulationEnabled, true)
    assert.equal(
      loadConfig({ ENVIRONMENT: 'production', MONITOR_TOKEN: 't', METRICS_TOKEN: 's' }).merkleClaimSimulationEnabled,
      false,
    )
    assert.equal(
      loadConfig({ ENVIRONMENT: ' production ', MONITOR_TOKEN: 't', METRICS_TOKEN: 's' }).merkleClaimSimulationEnabled,
      false,
      'production with stray spaces is still production',
    )
    assert.equal(
      loadConfig({
        ENVIRONMENT: 'production',
        MONITOR_TOKEN: 't',
        METRICS_TOKEN: 's',
        MERKLE_CLAIM_SIMULATION_ENABLED: '',
      }).merkleClaimSimulationEnabled,
      false,
    )
  })

  test('explicit values are honoured in both environments', () => {
    for (const environment of ['development', 'production']) {
      assert.equal(
        loadConfig({
          ENVIRONMENT: environment,
          MONITOR_TOKEN: 't',
          METRICS_TOKEN: 's',
          MERKLE_CLAIM_SIMULATION_ENABLED: 'true',
        }).merkleClaimSimulationEnabled,
        true,
      )
      assert.equal(
        loadConfig({
          ENVIRONMENT: environment,
          MONITOR_TOKEN: 't',
          METRICS_TOKEN: 's',
          MERKLE_CLAIM_SIMULATION_ENABLED: 'false',
        }).merkleClaimSimulationEnabled,
        false,
      )
      assert.equal(
        loadConfig({
          ENVIRONMENT: environment,
          MONITOR_TOKEN: 't',
          METRICS_TOKEN: 's',
          MERKLE_CLAIM_SIMULATION_ENABLED: '0',
        }).merkleClaimSimulationEnabled,
        false,
      )
      assert.equal(
        loadConfig({
          ENVIRONMENT: environment,
          MONITOR_TOKEN: 't',
          METRICS_TOKEN: 's',
          MERKLE_CLAIM_SIMULATION_ENABLED: 'YES',
        }).merkleClaimSimulationEnabled,
        true,
      )
    }
  })
})

test('a budget that BIGINT storage cannot hold stops start-up', () => {
  assert.throws(
    () => loadConfig({ EPOCH_BUDGET_UNITS: '9223372036854775808' }),
    /EPOCH_BUDGET_UNITS must be below 2\^63/,
  )
})

test('every bad value is reported at once, in the order of the table', () => {
  assert.throws(
    () => loadConfig({ API_PORT: 'abc', VERIFIER_HOTKEYS: 'bad', ENVIRONMENT: 'production', WINDOW_BLOCKS: '0' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.deepEqual(
        err.problems.map((p) => p.variable),
        ['API_PORT', 'VERIFIER_HOTKEYS', 'WINDOW_BLOCKS', 'MONITOR_TOKEN', 'METRICS_TOKEN'],
      )
      assert.match(err.message, /API_PORT must be an integer, got "abc"; VERIFIER_HOTKEYS has "bad"/)
      return true
    },
  )
})

test('valid verifier hotkeys, explicit in-memory SQLite and a production token are accepted', () => {
  const config = loadConfig({
    VERIFIER_HOTKEYS: ' 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY ,',
    DATABASE_URL: 'sqlite::memory:',
    ENVIRONMENT: 'production',
    MONITOR_TOKEN: 'secret',
    METRICS_TOKEN: 'scrape',
  })
  assert.deepEqual(config.verifierHotkeys, ['5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY'])
  assert.equal(config.requestLogLevel, 'debug', 'production logs requests below info by default')
  assert.equal(loadConfig({}).requestLogLevel, 'info')
})

test('unknown names (as in a .env file) are found, with the likely intended variable', () => {
  assert.deepEqual(unknownVariables(['WINDOW_BLOCKS', 'WINDOW_BLOKS', 'SOMETHING_ELSE_ENTIRELY']), [
    { name: 'WINDOW_BLOKS', suggestion: 'WINDOW_BLOCKS' },
    { name: 'SOMETHING_ELSE_ENTIRELY' },
  ])
})
