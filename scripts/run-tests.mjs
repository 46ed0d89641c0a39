#!/usr/bin/env node
// Runs the whole suite: pure unit tests once, then every integration and end-to-end test against
// SQLite and again against PostgreSQL (see ./test-postgres.mjs for which server). Each test file runs in a
// process of its own, two at a time, with a per-test timeout, so a hang fails with the test's name instead
// of stalling the run. Ends with one "N passed, N failed" line; exits non-zero when a test failed or when
// no test ran at all.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { choosePostgres } from './test-postgres.mjs'

/**
 * Longest one test may take (TEST_TIMEOUT_MS overrides it), and longest one file may take. The slowest
 * tests take about a minute alone on two cores and three when the machine is shared; CI stops at 90 min.
 */
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 300_000)
const FILE_TIMEOUT_MS = Math.max(TEST_TIMEOUT_MS, 20 * 60_000)
const CONCURRENCY = 2
const PER_TEST_TIMEOUT = new URL('./test-timeout.mjs', import.meta.url).href

const findTests = (dir) => {
  let out = []
  let entries = []
  try {
    entries = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of entries.sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out = out.concat(findTests(path))
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const only = process.argv.slice(2) // optional: "unit", "sqlite", "postgres"
const runs = [
  { name: 'unit', files: findTests('test/unit'), env: {} },
  {
    name: 'sqlite',
    files: [...findTests('test/integration'), ...findTests('test/e2e'), ...findTests('test/browser')],
    env: { TEST_DATABASE: 'sqlite' },
  },
  {
    name: 'postgres',
    files: [...findTests('test/integration'), ...findTests('test/e2e')],
    env: { TEST_DATABASE: 'postgres' },
  },
].filter((r) => (only.length === 0 || only.includes(r.name)) && r.files.length > 0)

const children = new Set()
let postgres

/** Runs one file; resolves with its counts and its whole output. */
function runFile(file, env) {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        PER_TEST_TIMEOUT,
        `--test-timeout=${TEST_TIMEOUT_MS}`,
        '--test-force-exit',
        '--test-reporter=spec',
        file,
      ],
      {
        env: { ...process.env, ...env, LOG_LEVEL: 'silent', TEST_TIMEOUT_MS: String(TEST_TIMEOUT_MS) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    children.add(child)
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    // A per-test timeout cannot catch a file that never finishes outside any test (e.g. in a hook).
    let killed = false
    const guard = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, FILE_TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(guard)
      children.delete(child)
      const count = (label) => Number(output.match(new RegExp(`^ℹ ${label} (\\d+)`, 'm'))?.[1] ?? 0)
      const passed = count('pass')
      let failed = count('fail') + count('cancelled') // a timed-out or unfinished test is cancelled: a failure
      if (killed) output += `\n✖ ${file}: still running after ${FILE_TIMEOUT_MS / 1000} s, killed\n`
      else if (code !== 0 && failed === 0)
        output += `\n✖ ${file}: exited with ${signal ?? `code ${code}`} outside any test\n`
      if ((killed || code !== 0) && failed === 0) failed = 1 // a crash or a hang outside any test still fails the run
      resolve({ passed, failed, output, seconds: Math.round((Date.now() - started) / 1000) })
    })
  })
}

async function runAll(run) {
  const started = Date.now()
  process.stdout.write(`\n== ${run.name}: ${run.files.length} files ==\n`)
  const queue = [...run.files]
  let passed = 0
  let failed = 0
  const failedFiles = []
  const worker = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const result = await runFile(file, run.env)
      process.stdout.write(`\n-- ${file} (${result.seconds} s)\n${result.output}`)
      passed += result.passed
      failed += result.failed
      if (result.failed > 0) failedFiles.push(file)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = Math.round((Date.now() - started) / 1000)
  process.stdout.write(
    `\n== ${run.name}: ${passed} passed, ${failed} failed in ${seconds} s${failedFiles.length > 0 ? `; failing files: ${failedFiles.join(' ')}` : ''} ==\n`,
  )
  return { passed, failed }
}

async function shutdown(code) {
  for (const child of children) child.kill('SIGKILL')
  if (postgres !== undefined) await postgres.stop()
  process.exit(code)
}
process.on('SIGINT', () => {
  void shutdown(130)
})
process.on('SIGTERM', () => {
  void shutdown(143)
})

let passed = 0
let failed = 0
try {
  if (runs.some((r) => r.name === 'postgres')) {
    try {
      postgres = await choosePostgres()
    } catch (err) {
      process.stderr.write(`${err.message}\n`)
      process.stdout.write('\ntests: 0 passed, 1 failed\n')
      process.exit(1)
    }
    process.stdout.write(`PostgreSQL for this run: ${postgres.description}\n`)
    for (const run of runs) if (run.name === 'postgres') run.env.TEST_POSTGRES_URL = postgres.url
  }
  for (const run of runs) {
    const result = await runAll(run)
    passed += result.passed
    failed += result.failed
  }
} finally {
  if (postgres !== undefined) await postgres.stop()
}
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed\n`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
