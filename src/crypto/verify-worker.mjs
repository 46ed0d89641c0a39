// Worker thread of the signature verifier: sr25519 verification (WebAssembly) off the event loop.
// Receives {id, publicKey, forms, signature} and answers {id, ok}: whether the signature covers one of
// the forms (the texts a signature over the message may cover, from messages.ts, in order). Plain
// JavaScript so it starts without a TypeScript loader.
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
parentPort.on('message', ({ id, publicKey, forms, signature }) => {
  const ok = forms.some((form) => verify(signature, encoder.encode(form), publicKey))
  parentPort.postMessage({ id, ok })
})
parentPort.postMessage({ ready: true })
