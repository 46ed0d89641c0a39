/**
 * A tiny Substrate-like JSON-RPC WebSocket server on loopback that speaks the two calls the chain block
 * source uses: `chain_getHeader` and `chain_subscribeNewHeads` (plus its unsubscribe).
 */
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

export class FakeChain {
  private server: WebSocketServer | undefined
  private readonly subscribers = new Map<WebSocket, string>()
  port = 0
  height: number

  constructor(height = 1000) {
    this.height = height
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  async start(port = 0): Promise<void> {
    this.server = new WebSocketServer({ host: '127.0.0.1', port })
    // A port that cannot be bound rejects instead of waiting for 'listening' forever.
    await new Promise<void>((resolve, reject) => {
      this.server!.once('listening', resolve)
      this.server!.once('error', reject)
    })
    this.port = (this.server.address() as AddressInfo).port
    this.server.on('connection', (socket) => {
      socket.on('message', (data) => {
        const request = JSON.parse(String(data)) as { id: number; method: string; params: unknown[] }
        const reply = (result: unknown): void => {
          socket.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result }))
        }
        if (request.method === 'chain_getHeader') reply(this.header())
        else if (request.method === 'chain_subscribeNewHeads') {
          const id = `sub-${request.id}`
          this.subscribers.set(socket, id)
          reply(id)
        } else if (request.method === 'chain_unsubscribeNewHeads') reply(true)
        else
          socket.send(
            JSON.stringify({ jsonrpc: '2.0', id: request.id, error: { code: -32601, message: 'Method not found' } }),
          )
      })
      socket.on('close', () => this.subscribers.delete(socket))
    })
  }

  /** Produces the next block and pushes it to every subscriber. */
  produce(): void {
    this.height++
    for (const [socket, id] of this.subscribers) {
      socket.send(
        JSON.stringify({
          jsonrpc: '2.0',
          method: 'chain_newHead',
          params: { subscription: id, result: this.header() },
        }),
      )
    }
  }

  async stop(): Promise<void> {
    if (this.server === undefined) return
    for (const client of this.server.clients) client.terminate()
    await new Promise<void>((resolve) => this.server!.close(() => resolve()))
    this.server = undefined
    this.subscribers.clear()
  }

  private header(): object {
    return {
      number: `0x${this.height.toString(16)}`,
      parentHash: `0x${'00'.repeat(32)}`,
      stateRoot: `0x${'00'.repeat(32)}`,
      extrinsicsRoot: `0x${'00'.repeat(32)}`,
      digest: { logs: [] },
    }
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}
