/**
 * Where signed requests are verified. An sr25519 verify costs most of a millisecond of CPU; on the event
 * loop it delays every other request by that much, so by default it runs on worker threads
 * (AUTH_VERIFY_THREADS) and the event loop only waits for the answer. With 0 threads it runs inline.
 */
import { Worker } from 'node:worker_threads'
import { signedForms } from './messages.ts'
import { cryptoReady, verifyMessage } from './sr25519.ts'

export interface SignatureVerifier {
  verify(publicKey: Uint8Array, message: string, signature: Uint8Array): Promise<boolean>
  close(): Promise<void>
}

export const inlineVerifier: SignatureVerifier = {
  verify: async (publicKey, message, signature) => verifyMessage(publicKey, message, signature),
  close: async () => {},
}

interface Pending {
  resolve: (ok: boolean) => void
  args: [Uint8Array, string, Uint8Array]
  worker: Worker
}

class WorkerVerifier implements SignatureVerifier {
  private readonly pending = new Map<number, Pending>()
  private nextId = 0
  private turn = 0

  constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.unref()
      worker.on('message', (m: { id?: number; ok?: boolean }) => {
        if (m.id === undefined) return
        this.pending.get(m.id)?.resolve(m.ok === true)
        this.pending.delete(m.id)
      })
      // A worker that dies must not lose requests: what it held is verified inline instead.
      worker.on('error', () => {
        this.retire(worker)
      })
      worker.on('exit', () => {
        this.retire(worker)
      })
    }
  }

  async verify(publicKey: Uint8Array, message: string, signature: Uint8Array): Promise<boolean> {
    if (this.workers.length === 0) return verifyMessage(publicKey, message, signature)
    const worker = this.workers[this.turn++ % this.workers.length]!
    const id = this.nextId++
    return await new Promise<boolean>((resolve) => {
      this.pending.set(id, { resolve, args: [publicKey, message, signature], worker })
      worker.postMessage({ id, publicKey, forms: signedForms(message), signature })
    })
  }

  private retire(worker: Worker): void {
    const index = this.workers.indexOf(worker)
    if (index >= 0) this.workers.splice(index, 1)
    for (const [id, p] of this.pending) {
      if (p.worker !== worker) continue
      this.pending.delete(id)
      p.resolve(verifyMessage(...p.args))
    }
  }

  async close(): Promise<void> {
    const workers = [...this.workers]
    this.workers.length = 0
    await Promise.all(workers.map(async (w) => await w.terminate()))
  }
}

/** Starts `threads` verifier workers and waits until each has loaded its WebAssembly. */
export async function createVerifier(threads: number): Promise<SignatureVerifier> {
  await cryptoReady() // inline verification, and the fallback when a worker dies
  if (threads <= 0) return inlineVerifier
  const workers = await Promise.all(
    Array.from({ length: threads }, async () => {
      const worker = new Worker(new URL('./verify-worker.mjs', import.meta.url))
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => {
          resolve()
        })
        worker.once('error', reject)
      })
      return worker
    }),
  )
  return new WorkerVerifier(workers)
}
