/**
 * Where block height comes from. The pool asks only for the current block and how the source is doing,
 * so the clock source and the chain-following source are interchangeable.
 */
import type { Clock } from '../clock.ts'

export interface BlockSourceStatus {
  source: 'clock' | 'chain'
  connected: boolean
  /** Unix ms of the last block seen (chain) or of the current block's start (clock). */
  lastBlockAt: number | null
}

export interface BlockSource {
  currentBlock(): number
  status(): BlockSourceStatus
  close(): Promise<void>
}

/** block = floor((now − genesis) / BLOCK_TIME_S); genesis is stored in the database at first start. */
export class ClockBlockSource implements BlockSource {
  constructor (private readonly clock: Clock, private readonly genesisMs: number, private readonly blockTimeS: number) {}

  currentBlock (): number {
    return Math.max(0, Math.floor((this.clock.now() - this.genesisMs) / (this.blockTimeS * 1000)))
  }

  status (): BlockSourceStatus {
    return { source: 'clock', connected: true, lastBlockAt: this.genesisMs + this.currentBlock() * this.blockTimeS * 1000 }
  }

  async close (): Promise<void> {}
}
