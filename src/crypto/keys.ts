/**
 * Miner-side keys: generate, derive from a mnemonic, sign the pool's messages. Used by the CLI
 * (`keygen`, `sign`, `simulate`) and by tests that act as real miners.
 */
import { Keyring } from '@polkadot/keyring'
import { cryptoWaitReady, mnemonicGenerate, mnemonicValidate } from '@polkadot/util-crypto'
import { recipientMessage, walletMessage } from './messages.ts'
import { SS58_PREFIX } from './sr25519.ts'

export interface MinerKey {
  address: string
  publicKey: Uint8Array
  /** Signs UTF-8 `message`; returns the signature as lowercase hex without 0x. */
  sign(message: string): string
}

export async function generateMnemonic(): Promise<string> {
  await cryptoWaitReady()
  return mnemonicGenerate(12)
}

/** Derives an sr25519 key from a mnemonic or a secret URI such as `//Alice` or `<mnemonic>//hard`. */
export async function keyFromSecret(secret: string): Promise<MinerKey> {
  await cryptoWaitReady()
  const phrase = secret.trim()
  const base = phrase.split('//')[0]?.trim() ?? ''
  if (base !== '' && !phrase.startsWith('//') && !mnemonicValidate(base)) throw new Error('not a valid BIP39 mnemonic')
  const pair = new Keyring({ type: 'sr25519', ss58Format: SS58_PREFIX }).addFromUri(phrase)
  return {
    address: pair.address,
    publicKey: pair.publicKey,
    sign: (message) => Buffer.from(pair.sign(new TextEncoder().encode(message))).toString('hex'),
  }
}

/** The three auth headers for a request signed now (or at `timestamp`). */
export function signedHeaders(
  key: MinerKey,
  timestamp: number,
  recipient?: string,
): Record<'X-Key' | 'X-Timestamp' | 'X-Signature', string> {
  const message = recipient === undefined ? walletMessage(timestamp) : recipientMessage(timestamp, recipient)
  return { 'X-Key': key.address, 'X-Timestamp': String(timestamp), 'X-Signature': key.sign(message) }
}
