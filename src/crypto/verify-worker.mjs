// Worker thread of the signature verifier: sr25519 verification (WebAssembly) off the event loop.
// Receives {id, publicKey, message, signature} and answers {id, ok}; checks the raw message and the
// <Bytes>-wrapped form browser wallets sign. Plain JavaScript so it starts without a TypeScript loader.
import { parentPort } from 'node:worker_threads'
import { sr25519Verify, waitReady } from '@polkadot/wasm-crypto'

const encoder = new TextEncoder()
const verify = (signature, message, publicKey) => {
  try {
    return sr25519Verify(signature, message, publicKey)
  } catch {
    return false
  }
}

await waitReady()
parentPort.on('message', ({ id, publicKey, message, signature }) => {
  const ok =
    verify(signature, encoder.encode(message), publicKey) ||
    verify(signature, encoder.encode(`<Bytes>${message}</Bytes>`), publicKey)
  parentPort.postMessage({ id, ok })
})
parentPort.postMessage({ ready: true })
