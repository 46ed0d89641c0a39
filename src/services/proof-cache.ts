/**
 * Closed epochs' proof packages from memory. A closed epoch never changes (its row and its leaves are
 * written in one transaction), so once loaded it answers every proof request with no database query.
 *
 * Design, and why:
 *
 * - Per epoch we keep the leaf records (hotkey → index, recipient and amount as JSON text) and the tree's
 *   levels, rebuilt from the stored leaf hashes with the claim-tree code and kept as hex text; a proof is
 *   read from the levels on request (one substring per level, a couple of microseconds). Keeping the
 *   stored per-leaf proof JSON instead would cost ~1.2 kB a leaf (~120 MB at 100k leaves); the hex levels
 *   cost 128 bytes a leaf, and the whole epoch about 380 bytes a leaf (~38 MB at 100k).
 * - The rebuilt root must equal the stored root and the indexes must be 0..n-1, or the epoch is never
 *   cached (served from the database, as before): what the cache answers is then exactly what the stored
 *   rows say.
 * - One load per epoch: concurrent first requests await the same promise. A failed load is forgotten
 *   (the requests fall back to the database, a later one tries again).
 * - Whole epochs are evicted least recently used when the byte budget (PROOF_CACHE_MB) is exceeded. An
 *   epoch whose estimate exceeds the whole budget is not loaded at all and stays served from the database.
 *   The byte counts are estimates of the retained heap (strings, map entries, array slots), calibrated on V8.
 * - The default budget, 128 MiB, holds the three newest epochs at 100k leaves (claims go mostly to the
 *   newest epoch, and older epoch URLs are immutable, so clients and proxies keep them), and is small next
 *   to the process's own memory.
 * - Only leaves are cached. A hotkey with no leaf is answered by the database (its 404 explains credit
 *   waiting for a recipient), and the lookup leaves the cache as it was.
 */
import { createHash } from 'node:crypto'
import type { Database } from '../db/database.ts'
import { CLAIM_TREE_FORMAT, initClaimTree, upperLevels } from '../domain/claim-tree.ts'
import { unitsToJson } from '../domain/units.ts'
import type { PoolMetrics } from '../metrics.ts'

/** Least recently used eviction by bytes: entries carry their size; the total stays within the budget. */
export class ByteLru<K, V> {
  private readonly entries = new Map<K, { value: V; bytes: number }>()
  private total = 0

  constructor(readonly budget: number) {}

  get bytes(): number {
    return this.total
  }
  get size(): number {
    return this.entries.size
  }
  keys(): K[] {
    return [...this.entries.keys()]
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry.value
  }

  /**
   * Stores `value` as the most recently used, evicting the least recently used until the total fits.
   * Something bigger than the whole budget is not stored (false); what was stored stays.
   */
  set(key: K, value: V, bytes: number): boolean {
    if (!(bytes >= 0) || bytes > this.budget) return false
    this.delete(key)
    for (const [oldest, entry] of this.entries) {
      if (this.total + bytes <= this.budget) break
      this.entries.delete(oldest)
      this.total -= entry.bytes
    }
    this.entries.set(key, { value, bytes })
    this.total += bytes
    return true
  }

  delete(key: K): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    this.entries.delete(key)
    this.total -= entry.bytes
  }
}

/** The epoch row fields a cached epoch is checked against. */
export interface ClosedEpoch {
  epoch_id: bigint
  root: string
  num_of_leaves: bigint
}

/** A proof package ready to send: its JSON text and its strong ETag. */
export interface ProofText {
  etag: string
  text: string
}

const HASH_BYTES = 32
const HEX = 2 * HASH_BYTES
/**
 * Estimated retained bytes besides the strings' characters: per leaf, the map entry and three array
 * slots; per distinct string, V8's header. Measured on Node 20 with 100k leaves: 384 bytes a leaf
 * retained, 387 estimated.
 */
const LEAF_OVERHEAD = 80
const STRING_OVERHEAD = 24
/** Upper estimate of a leaf (two 48-character addresses, a 20-digit amount, the hex levels), before loading. */
const LEAF_ESTIMATE = LEAF_OVERHEAD + 3 * STRING_OVERHEAD + 48 + 50 + 22 + 2 * HEX
/** The leaf level is one hex string, and V8 strings stop at 2^29 characters. */
const MAX_LEAVES = 4_000_000
const LOAD_PAGE = 5_000

/**
 * The strong ETag of a proof package. The body is a function of the epoch's root and the leaf's hash
 * (which binds epoch, index, hotkey, recipient and amount), in the layout named by PROOF_LAYOUT (bump it
 * when the package's fields or their order change): a hash of layout and root, then the leaf hash's
 * first 64 bits. The root part is computed once per cached epoch, so a hit hashes nothing.
 */
const PROOF_LAYOUT = 'proof-package/1'
export function epochTag(root: string): string {
  return createHash('sha256').update(`${PROOF_LAYOUT}\n${CLAIM_TREE_FORMAT}\n${root}`).digest('hex').slice(0, 16)
}
export function proofEtag(root: string, leaf: string): string {
  return `"${epochTag(root)}${leaf.slice(2, 18)}"`
}

/**
 * The proof of leaf `index` as the JSON array's inside (`"0x…","0x…"`), from hex levels (leaf level first):
 * the sibling rule of claim-tree's proof, on hex text. A leaf next to a carried odd node skips that level.
 */
export function proofJson(levels: readonly string[], index: number): string {
  let proof = ''
  let p = index
  for (let k = 0; k < levels.length - 1; k++) {
    const at = (p ^ 1) * HEX
    const level = levels[k]!
    if (at < level.length) proof += `${proof === '' ? '"0x' : ',"0x'}${level.substring(at, at + HEX)}"`
    p >>= 1
  }
  return proof
}

class CachedEpoch {
  private readonly head: string
  private readonly tail: string

  constructor(
    epoch: number,
    root: string,
    private readonly indexOf: Map<string, number>,
    /** JSON text (quoted) of each leaf's recipient. */
    private readonly recipients: string[],
    /** JSON text of each leaf's amount: a number, or a quoted decimal above 2^53. */
    private readonly amounts: string[],
    /**
     * The levels, leaf level first, each one lowercase hex string of its 32-byte nodes: a proof is a few
     * substrings (2.3× faster than hex-encoding buffers per request, for 64 more bytes a leaf).
     */
    private readonly levels: string[],
    private readonly tag: string,
    readonly bytes: number,
  ) {
    this.head = `{"epoch":${epoch},"index":`
    this.tail = `],"root":${JSON.stringify(root)},"leaf":"0x`
  }

  /** The package of `hotkey`, with the same bytes as the route's serializer writes; undefined without a leaf. */
  proof(hotkey: string): ProofText | undefined {
    const index = this.indexOf.get(hotkey)
    if (index === undefined) return undefined
    const proof = proofJson(this.levels, index)
    const leaf = this.levels[0]!.substring(index * HEX, (index + 1) * HEX)
    const amount = this.amounts[index]!
    const text =
      this.head +
      index +
      ',"hotkey":' +
      JSON.stringify(hotkey) +
      ',"recipient_coldkey":' +
      this.recipients[index]! +
      ',"amount_units":' +
      amount +
      ',"amount":' +
      amount +
      ',"proof":[' +
      proof +
      this.tail +
      leaf +
      FORMAT_END
    return { etag: `"${this.tag}${leaf.substring(0, 16)}"`, text }
  }
}

const FORMAT_END = `","format":${JSON.stringify(CLAIM_TREE_FORMAT)}}`

export type LookupResult = 'hit' | 'miss' | 'bypass' | 'no_leaf'

export class ProofCache {
  private readonly lru: ByteLru<number, CachedEpoch>
  private readonly loading = new Map<number, Promise<CachedEpoch | undefined>>()
  /** Epochs that cannot be cached (bigger than the budget, or stored rows that do not rebuild the root). */
  private readonly uncacheable = new Set<number>()

  constructor(
    private readonly database: Database,
    budgetBytes: number,
    private readonly metrics?: PoolMetrics,
  ) {
    this.lru = new ByteLru(budgetBytes)
  }

  get enabled(): boolean {
    return this.lru.budget > 0
  }
  get bytes(): number {
    return this.lru.bytes
  }
  /** Cached epochs, least recently used first. */
  epochs(): number[] {
    return this.lru.keys()
  }

  /**
   * The package of `hotkey` in the closed epoch `e`, from memory (loading the epoch on first use); undefined
   * when the database must answer: the cache is off, the epoch cannot be cached, or the hotkey has no leaf.
   */
  async lookup(e: ClosedEpoch, hotkey: string): Promise<ProofText | undefined> {
    const id = Number(e.epoch_id)
    let cached = this.lru.get(id)
    let result: LookupResult = 'hit'
    if (cached === undefined) {
      result = 'miss'
      const n = Number(e.num_of_leaves)
      if (!this.enabled || this.uncacheable.has(id) || n > MAX_LEAVES || n * LEAF_ESTIMATE > this.lru.budget) {
        this.count('bypass')
        return undefined
      }
      cached = await this.load(e)
      if (cached === undefined) {
        this.count('bypass')
        return undefined
      }
    }
    const answer = cached.proof(hotkey)
    this.count(answer === undefined ? 'no_leaf' : result)
    return answer
  }

  /** The package from an epoch already in memory, with no waiting; undefined when `lookup` must decide. */
  peek(epochId: number, hotkey: string): ProofText | undefined {
    const answer = this.lru.get(epochId)?.proof(hotkey)
    if (answer !== undefined) this.count('hit')
    return answer
  }

  private count(result: LookupResult): void {
    this.metrics?.proofCacheLookups.inc({ result })
  }

  private async load(e: ClosedEpoch): Promise<CachedEpoch | undefined> {
    const id = Number(e.epoch_id)
    let pending = this.loading.get(id)
    if (pending === undefined) {
      pending = this.read(e)
        .then(
          (cached) => {
            if (cached === undefined || !this.lru.set(id, cached, cached.bytes)) {
              this.uncacheable.add(id)
              return undefined
            }
            this.metrics?.proofCacheBytes.set(this.lru.bytes)
            return cached
          },
          () => undefined,
        )
        .finally(() => this.loading.delete(id))
      this.loading.set(id, pending)
    }
    return await pending
  }

  /** Reads the epoch's leaves page by page and rebuilds its levels; undefined when they do not match the row. */
  private async read(e: ClosedEpoch): Promise<CachedEpoch | undefined> {
    const n = Number(e.num_of_leaves)
    const leafLevel = Buffer.alloc(n * HASH_BYTES)
    const indexOf = new Map<string, number>()
    const recipients = new Array<string>(n)
    const amounts = new Array<string>(n)
    const interned = new Map<string, string>()
    let bytes = n * LEAF_OVERHEAD
    let next = 0
    for (;;) {
      const rows = await this.database.db
        .selectFrom('epoch_leaves')
        .select(['leaf_index', 'hotkey', 'recipient_coldkey', 'amount_units', 'leaf'])
        .where('epoch_id', '=', e.epoch_id)
        .where('leaf_index', '>=', BigInt(next))
        .orderBy('leaf_index')
        .limit(LOAD_PAGE)
        .execute()
      for (const r of rows) {
        if (Number(r.leaf_index) !== next || next >= n || !/^0x[0-9a-f]{64}$/.test(r.leaf)) return undefined
        leafLevel.write(r.leaf.slice(2), next * HASH_BYTES, 'hex')
        indexOf.set(r.hotkey, next)
        let recipient = interned.get(r.recipient_coldkey)
        if (recipient === undefined) {
          recipient = JSON.stringify(r.recipient_coldkey)
          interned.set(r.recipient_coldkey, recipient)
          bytes += STRING_OVERHEAD + recipient.length
        }
        recipients[next] = recipient
        amounts[next] = JSON.stringify(unitsToJson(BigInt(r.amount_units)))
        bytes += 2 * STRING_OVERHEAD + r.hotkey.length + amounts[next]!.length
        next++
      }
      if (rows.length < LOAD_PAGE) break
    }
    if (next !== n || indexOf.size !== n || n === 0) return undefined
    await initClaimTree()
    const levels = [leafLevel, ...upperLevels(leafLevel)].map((l) =>
      Buffer.from(l.buffer, l.byteOffset, l.length).toString('hex'),
    )
    if (`0x${levels[levels.length - 1]!}` !== e.root) return undefined
    for (const level of levels) bytes += level.length
    return new CachedEpoch(Number(e.epoch_id), e.root, indexOf, recipients, amounts, levels, epochTag(e.root), bytes)
  }
}
