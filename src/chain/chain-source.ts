/**
 * Block height from a Subtensor node: follows new heads over WebSocket (polkadot-js WsProvider, the one
 * place that talks to the chain). Reconnects with exponential backoff and never throws into the server;
 * until the first head arrives it extrapolates from the last block it saw (kept in the database).
 */
import { WsProvider } from '@polkadot/rpc-provider'
import type { Clock } from '../clock.ts'
import type { BlockSource, BlockSourceStatus } from './block-source.ts'

export interface ChainSourceOptions {
  endpoint: string
  clock: Clock
  blockTimeS: number
  /** Last block seen by an earlier run, to estimate height before the first head arrives. */
  lastKnown?: { block: number; atMs: number }
  /** Persists the latest block now and then so a restart can estimate it. */
  remember?: (block: number, atMs: number) => Promise<void>
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void }
  /** Backoff bounds, in ms (tests shorten them). */
  minRetryMs?: number
  maxRetryMs?: number
}

interface Header {
  number: string | number
}

const parseHeight = (header: Header): number | undefined => {
  const n =
    typeof header?.number === 'string'
      ? Number.parseInt(header.number, header.number.startsWith('0x') ? 16 : 10)
      : header?.number
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

export class ChainBlockSource implements BlockSource {
  private provider: WsProvider | undefined
  private block: number | undefined
  private blockAt: number | null = null
  private subscribed = false
  private attempts = 0
  private retryTimer: NodeJS.Timeout | undefined
  private closed = false
  private lastRemembered = 0

  constructor(private readonly options: ChainSourceOptions) {
    if (options.lastKnown !== undefined) {
      this.block = options.lastKnown.block
      this.blockAt = options.lastKnown.atMs
    }
  }

  /**
   * Starts following the chain; resolves once a block height is known (a head arrived, or one remembered
   * from an earlier run) or after `waitMs`. Waiting for the head, not only the connection, keeps a new
   * pool from taking block 0 as the chain's height and numbering its first window from there.
   */
  async start(waitMs = 5000): Promise<void> {
    this.connect()
    const deadline = Date.now() + waitMs
    while (!this.closed && this.block === undefined && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50))
  }

  currentBlock(): number {
    if (this.block === undefined || this.blockAt === null) return 0
    // Between heads (or while disconnected) the height advances with the clock, never backwards.
    const elapsed = Math.max(0, this.options.clock.now() - this.blockAt)
    return this.block + (this.connected() ? 0 : Math.floor(elapsed / (this.options.blockTimeS * 1000)))
  }

  status(): BlockSourceStatus {
    return { source: 'chain', connected: this.connected(), lastBlockAt: this.blockAt }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    await this.provider?.disconnect().catch(() => {})
  }

  private connected(): boolean {
    return this.provider?.isConnected === true
  }

  private connect(): void {
    if (this.closed) return
    if (this.provider === undefined) {
      // Manual mode (no auto-connect): this class owns the retry policy.
      this.provider = new WsProvider(this.options.endpoint, false)
      this.provider.on('connected', () => {
        void this.onConnected()
      })
      this.provider.on('disconnected', () => {
        this.scheduleRetry()
      })
      this.provider.on('error', () => {})
    }
    this.provider.connect().catch(() => {
      this.scheduleRetry()
    })
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== undefined) return
    const min = this.options.minRetryMs ?? 1000
    const max = this.options.maxRetryMs ?? 30_000
    const delay = Math.min(max, min * 2 ** Math.min(this.attempts, 16))
    this.attempts++
    this.options.log?.warn(
      { endpoint: this.options.endpoint, retryInMs: delay },
      'chain endpoint unreachable; retrying',
    )
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.connect()
    }, delay)
  }

  private async onConnected(): Promise<void> {
    this.attempts = 0
    this.options.log?.info({ endpoint: this.options.endpoint }, 'connected to chain')
    const provider = this.provider!
    try {
      this.onHeader(await provider.send<Header>('chain_getHeader', []))
      // The provider re-subscribes by itself after a reconnect, so subscribe once.
      if (!this.subscribed) {
        await provider.subscribe(
          'chain_newHead',
          'chain_subscribeNewHeads',
          [],
          (err: Error | null, header: Header) => {
            if (err === null) this.onHeader(header)
          },
        )
        this.subscribed = true
      }
    } catch (err) {
      this.options.log?.warn({ err }, 'chain request failed')
    }
  }

  private onHeader(header: Header): void {
    const height = parseHeight(header)
    if (height === undefined) return
    const now = this.options.clock.now()
    this.block = Math.max(this.block ?? 0, height)
    this.blockAt = now
    if (this.options.remember !== undefined && now - this.lastRemembered > 60_000) {
      this.lastRemembered = now
      this.options.remember(this.block, now).catch(() => {})
    }
  }
}
