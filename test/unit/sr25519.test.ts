// sr25519 and SS58 against an independent implementation (@scure/sr25519): keys derived the same way,
// signatures made by one verify with the other, and the shared vectors get the same verdict from both.
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as scure from '@scure/sr25519'
import { encodeAddress, mnemonicToMiniSecret } from '@polkadot/util-crypto'
import { keyFromSecret, type MinerKey } from '../../src/crypto/keys.ts'
import { recipientMessage, walletMessage } from '../../src/crypto/messages.ts'
import {
  canonicalHotkey,
  cryptoReady,
  decodeAnySpelling,
  decodeHotkey,
  encodeHotkey,
  isHotkey,
  parseSignature,
  verifyMessage,
} from '../../src/crypto/sr25519.ts'
import fc from 'fast-check'
import { twoBytePrefixSpelling } from '../support/ss58.ts'
import { sharedTestdata } from '../support/shared-data.ts'

interface AuthVectors {
  keys: Record<'miner' | 'other', { mnemonic: string; address: string; public_key: string }>
  cases: Array<{
    name: string
    headers: Record<'X-Key' | 'X-Timestamp' | 'X-Signature', string>
    message: string
    valid: boolean
    note?: string
  }>
}

const vectors = sharedTestdata('auth-vectors.json') as AuthVectors
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const fromHex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/^0x/, ''), 'hex'))

let miner: MinerKey
let scureSecret: Uint8Array

before(async () => {
  await cryptoReady()
  miner = await keyFromSecret(vectors.keys.miner.mnemonic)
  scureSecret = scure.secretFromSeed(mnemonicToMiniSecret(vectors.keys.miner.mnemonic))
})

describe('keys', () => {
  test("our key and @scure derive the vector's public key and address from the mnemonic", async () => {
    for (const name of ['miner', 'other'] as const) {
      const expected = vectors.keys[name]
      const ours = await keyFromSecret(expected.mnemonic)
      const theirs = scure.getPublicKey(scure.secretFromSeed(mnemonicToMiniSecret(expected.mnemonic)))
      assert.equal(`0x${hex(ours.publicKey)}`, expected.public_key)
      assert.equal(`0x${hex(theirs)}`, expected.public_key)
      assert.equal(ours.address, expected.address)
      assert.equal(encodeHotkey(theirs), expected.address)
    }
  })

  test('keyFromSecret refuses a phrase that is not a BIP39 mnemonic', async () => {
    await assert.rejects(
      keyFromSecret('bottom drive obey lake curtain smoke basket hold race lonely fit fit'),
      /not a valid BIP39 mnemonic/,
    )
  })
})

describe('cross-verification with @scure/sr25519', () => {
  test('a signature made by @scure verifies with our verifyMessage; other messages and keys do not', () => {
    for (const message of [
      walletMessage(1_700_000_000),
      recipientMessage(1_700_000_000, vectors.keys.other.address),
      'auth:',
      'ünïcødé ✓',
    ]) {
      const signature = scure.sign(scureSecret, utf8(message))
      assert.equal(verifyMessage(miner.publicKey, message, signature), true, message)
      assert.equal(verifyMessage(miner.publicKey, `${message} `, signature), false)
      assert.equal(verifyMessage(fromHex(vectors.keys.other.public_key), message, signature), false)
    }
  })

  test('a <Bytes>-wrapped signature made by @scure verifies for the bare message', () => {
    const message = walletMessage(1_700_000_123)
    const signature = scure.sign(scureSecret, utf8(`<Bytes>${message}</Bytes>`))
    assert.equal(verifyMessage(miner.publicKey, message, signature), true)
    const twice = scure.sign(scureSecret, utf8(`<Bytes><Bytes>${message}</Bytes></Bytes>`))
    assert.equal(verifyMessage(miner.publicKey, message, twice), false, 'only one level of wrapping')
    const other = scure.sign(scureSecret, utf8(`<Bytes>${walletMessage(1_700_000_124)}</Bytes>`))
    assert.equal(verifyMessage(miner.publicKey, message, other), false)
  })

  test('a signature made by our keyFromSecret verifies with @scure', () => {
    for (const message of [
      walletMessage(1_700_000_000),
      recipientMessage(1_700_000_000, `  ${vectors.keys.other.address} `),
    ]) {
      const signature = fromHex(miner.sign(message))
      assert.equal(signature.length, 64)
      assert.equal(scure.verify(utf8(message), signature, miner.publicKey), true, message)
      assert.equal(scure.verify(utf8(`${message}x`), signature, miner.publicKey), false)
    }
  })

  test('our signatures are lowercase hex without 0x, and randomized', () => {
    const a = miner.sign('auth:1')
    const b = miner.sign('auth:1')
    assert.match(a, /^[0-9a-f]{128}$/)
    assert.notEqual(a, b)
  })

  test('recipientMessage binds the trimmed recipient', () => {
    assert.equal(recipientMessage(5, '  abc \n'), 'recipient_coldkey:update:5:abc')
    assert.equal(walletMessage('1700000000'), 'auth:1700000000')
  })
})

describe('the shared vectors', () => {
  for (const vector of vectors.cases) {
    test(`${vector.name}: ours and @scure both say ${vector.valid ? 'valid' : 'invalid'}`, () => {
      const decoded = decodeHotkey(vector.headers['X-Key'])
      assert.ok('publicKey' in decoded)
      const signature = parseSignature(vector.headers['X-Signature'])
      assert.ok(signature !== undefined, 'every vector signature is 64 bytes of hex')
      assert.equal(verifyMessage(decoded.publicKey, vector.message, signature), vector.valid)

      let theirs: boolean
      try {
        theirs =
          scure.verify(utf8(vector.message), signature, decoded.publicKey) ||
          scure.verify(utf8(`<Bytes>${vector.message}</Bytes>`), signature, decoded.publicKey)
      } catch {
        theirs = false // @scure throws on bytes that are not a curve point
      }
      assert.equal(theirs, vector.valid)
    })
  }
})

describe('verifyMessage never throws', () => {
  test('garbage signatures and keys → false', () => {
    const message = 'auth:1700000000'
    const good = fromHex(miner.sign(message))
    const garbage = [
      new Uint8Array(64).fill(0xff),
      new Uint8Array(64),
      good.slice(0, 63),
      new Uint8Array(0),
      Uint8Array.from([...good, 0]),
    ]
    for (const signature of garbage) assert.equal(verifyMessage(miner.publicKey, message, signature), false)
    for (const key of [new Uint8Array(32).fill(0xff), new Uint8Array(32), miner.publicKey.slice(0, 31)]) {
      assert.equal(verifyMessage(key, message, good), false)
    }
    assert.equal(verifyMessage(miner.publicKey, message, good), true)
  })
})

describe('decodeHotkey', () => {
  test('a prefix-42 address decodes to its 32-byte public key', () => {
    const decoded = decodeHotkey(vectors.keys.miner.address)
    assert.ok('publicKey' in decoded)
    assert.equal(`0x${hex(decoded.publicKey)}`, vectors.keys.miner.public_key)
    assert.equal(isHotkey(vectors.keys.other.address), true)
  })

  const address = vectors.keys.miner.address
  const rejected: Array<[string, unknown]> = [
    ['empty', ''],
    ['garbage', 'hello world'],
    ['too short', address.slice(0, 20)],
    ['too long', address + address],
    ['not base58 (0, O, I, l)', `0${address.slice(1)}`],
    ['wrong checksum', address.slice(0, -1) + (address.endsWith('V') ? 'W' : 'V')],
    [
      'one character changed in the middle',
      address.slice(0, 20) + (address[20] === 'a' ? 'b' : 'a') + address.slice(21),
    ],
    ['polkadot prefix 0', encodeAddress(fromHex(vectors.keys.miner.public_key), 0)],
    ['kusama prefix 2', encodeAddress(fromHex(vectors.keys.miner.public_key), 2)],
    ['a hex public key', vectors.keys.miner.public_key],
    ['surrounding spaces', ` ${address} `],
    ['not a string', 42],
  ]
  for (const [label, input] of rejected) {
    test(`rejects ${label}`, () => {
      const decoded = decodeHotkey(input as string)
      assert.ok('error' in decoded, `${label} should be rejected`)
      assert.ok(decoded.error.length > 0)
      assert.equal(isHotkey(input as string), false)
    })
  }

  test('the two-byte spelling of prefix 42 is another valid address of the same key, and is refused naming the canonical one', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        const canonical = encodeHotkey(key)
        const other = twoBytePrefixSpelling(key)
        assert.notEqual(other, canonical)
        const any = decodeAnySpelling(other)
        assert.ok('publicKey' in any, 'SS58 itself accepts the other spelling')
        assert.deepEqual(any.publicKey, key)
        const decoded = decodeHotkey(other)
        assert.ok('error' in decoded)
        assert.equal(decoded.canonical, canonical)
        assert.ok(decoded.error.includes(`use ${canonical}`), decoded.error)
        assert.equal(isHotkey(other), false)
        assert.equal(canonicalHotkey(other), canonical)
        assert.equal(canonicalHotkey(canonical), canonical)
        assert.ok('publicKey' in decodeHotkey(canonical))
      }),
      { numRuns: 200 },
    )
  })

  test('the prefix mismatch says which prefix was found', () => {
    const decoded = decodeHotkey(encodeAddress(fromHex(vectors.keys.miner.public_key), 0))
    assert.ok('error' in decoded)
    assert.match(decoded.error, /expected 42, found 0/)
  })
})

describe('parseSignature', () => {
  const signature = vectors.cases[0]!.headers['X-Signature']
  const bytes = fromHex(signature)

  test('accepts 64 bytes of hex with or without 0x, in either case', () => {
    for (const text of [
      signature,
      `0x${signature}`,
      `0X${signature}`,
      signature.toUpperCase(),
      `0x${signature.toUpperCase()}`,
    ]) {
      assert.deepEqual(parseSignature(text), bytes, text)
    }
  })

  test('rejects wrong lengths and non-hex', () => {
    const bad = [
      '',
      '0x',
      signature.slice(0, 126),
      signature.slice(0, 127),
      `${signature}0`,
      `${signature}00`,
      `0x${signature.slice(2)}z`,
      `${signature.slice(0, 127)}g`,
      `x${signature.slice(1)}`,
      ` ${signature}`,
      `0x0x${signature.slice(4)}`,
      `00${signature}`.slice(0, 129),
    ]
    for (const text of bad) assert.equal(parseSignature(text), undefined, JSON.stringify(text))
  })
})
