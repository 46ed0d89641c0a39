/**
 * Where block height comes from. The pool asks only for the current block and how the source is doing,
 * so the clock source and the chain-following source are interchangeable.
 */
import type { Clock } from '../clock.ts'
import { blockAtTime, blockStartMs, type BlockSourceKind, type Tempo } from '../domain/tempo.ts'

export interface BlockSourceStatus {
  source: BlockSourceKind
  connected: boolean
  /** Unix ms of the last block seen (chain) or of the current block's start (clock). */
  lastBlockAt: number | null
}

export interface BlockSource {
  currentBlock(): number
  status(): BlockSourceStatus
  close(): Promise<void>
}

/**
 * block = floor((now − genesis) / BLOCK_TIME_S), per segment of the stored tempo (genesis and every tempo
 * change are stored in the database), so a restart or a block-time change never renumbers blocks.
 */
export class ClockBlockSource implements BlockSource {
  constructor(
    private readonly clock: Clock,
    private readonly tempo: Tempo,
  ) {}

  currentBlock(): number {
    return blockAtTime(this.clock.now(), this.tempo)
  }

  status(): BlockSourceStatus {
    return { source: 'clock', connected: true, lastBlockAt: blockStartMs(this.currentBlock(), this.tempo) }
  }

  async close(): Promise<void> {}
}
