import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RateLimiter } from '../../src/http/rate-limit.ts'

test('allows the limit per window, then asks to wait until the window ends', () => {
  let now = 1_000_000
  const limiter = new RateLimiter(3, () => now)
  assert.equal(limiter.take('a'), undefined)
  assert.equal(limiter.take('a'), undefined)
  assert.equal(limiter.take('a'), undefined)
  now += 15_000
  assert.equal(limiter.take('a'), 45, 'the fourth request waits for the rest of the minute')
  assert.equal(limiter.take('b'), undefined, 'keys are counted apart')
  now += 45_000
  assert.equal(limiter.take('a'), undefined, 'a new window starts fresh')
})

test('a limit of 0 never limits', () => {
  const limiter = new RateLimiter(0, () => 0)
  assert.equal(limiter.enabled, false)
  for (let i = 0; i < 1000; i++) assert.equal(limiter.take('a'), undefined)
})
