// The signed messages the pool checks are the formats its refusals and API documentation name.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  RECIPIENT_MESSAGE,
  WALLET_MESSAGE,
  recipientMessage,
  signedForms,
  walletMessage,
} from '../../src/crypto/messages.ts'

test('walletMessage and recipientMessage fill in the documented formats', () => {
  assert.equal(walletMessage(1_700_000_000), WALLET_MESSAGE.replace('{X-Timestamp}', '1700000000'))
  assert.equal(walletMessage('1700000000'), 'auth:1700000000')
  const recipient = '5DCk6JUHx6o2hoBjuM4tPq2Sx7uNtYj3u3kArYyNpRNyKGCw'
  assert.equal(
    recipientMessage(1_700_000_000, ` ${recipient} `),
    RECIPIENT_MESSAGE.replace('{X-Timestamp}', '1700000000').replace('{recipient_coldkey}', recipient),
  )
})

test('a signature may cover the message or its <Bytes> wrapping, in that order', () => {
  assert.deepEqual(signedForms('auth:1'), ['auth:1', '<Bytes>auth:1</Bytes>'])
})
