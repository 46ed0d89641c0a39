import { test } from 'node:test'
import assert from 'node:assert/strict'
import { keyFromSecret } from '../../src/crypto/keys.ts'
import { parseSignature } from '../../src/crypto/sr25519.ts'
import { createVerifier } from '../../src/crypto/verifier.ts'

const bytes = (hex: string): Uint8Array => parseSignature(hex)!

for (const threads of [0, 2]) {
  test(`verifier with ${threads} worker thread(s) accepts raw and <Bytes>-wrapped signatures and refuses others`, async () => {
    const verifier = await createVerifier(threads)
    try {
      const key = await keyFromSecret('//verifier')
      const other = await keyFromSecret('//other')
      const checks = await Promise.all([
        verifier.verify(key.publicKey, 'auth:1', bytes(key.sign('auth:1'))),
        verifier.verify(key.publicKey, 'auth:1', bytes(key.sign('<Bytes>auth:1</Bytes>'))),
        verifier.verify(key.publicKey, 'auth:2', bytes(key.sign('auth:1'))),
        verifier.verify(key.publicKey, 'auth:1', bytes(other.sign('auth:1'))),
        verifier.verify(key.publicKey, 'auth:1', new Uint8Array(64).fill(0xff)),
      ])
      assert.deepEqual(checks, [true, true, false, false, false])
    } finally {
      await verifier.close()
    }
  })
}

test('requests held by a worker that dies are verified inline, and later ones too', async () => {
  const verifier = await createVerifier(1)
  const key = await keyFromSecret('//verifier')
  const signature = bytes(key.sign('auth:7'))
  const inFlight = verifier.verify(key.publicKey, 'auth:7', signature)
  await verifier.close()
  assert.equal(await inFlight, true)
  assert.equal(await verifier.verify(key.publicKey, 'auth:7', signature), true)
})
