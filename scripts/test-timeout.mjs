// Loaded into every test process by run-tests.mjs. Node 20 applies --test-timeout only to whole files run
// under --test (later versions apply it to each test), so this gives every test() and it() without a
// timeout of its own TEST_TIMEOUT_MS: a hang then fails with the test's name, and the file goes on.
import { createRequire, syncBuiltinESMExports } from 'node:module'

const timeout = Number(process.env.TEST_TIMEOUT_MS)

/** Wraps test(name?, options?, fn?) so that options.timeout defaults to `timeout`. */
function withTimeout(original) {
  const wrapped = function (...args) {
    const at = args.findIndex((a) => a !== null && typeof a === 'object')
    if (at >= 0) {
      if (args[at].timeout === undefined) args[at] = { ...args[at], timeout }
    } else {
      const fn = args.findIndex((a) => typeof a === 'function')
      args.splice(fn < 0 ? args.length : fn, 0, { timeout })
    }
    return original.apply(this, args)
  }
  return wrapped
}

if (Number.isFinite(timeout) && timeout > 0) {
  const nodeTest = createRequire(import.meta.url)('node:test')
  const test = withTimeout(nodeTest.test)
  for (const variant of ['skip', 'todo', 'only']) test[variant] = withTimeout(nodeTest.test[variant])
  for (const key of Object.keys(nodeTest.test)) if (!(key in test)) test[key] = nodeTest.test[key]
  nodeTest.test = test
  nodeTest.it = test
  syncBuiltinESMExports()
}
