/**
 * Fixed-window request counters per key (a hotkey or an IP), in process memory. Limits protect each API
 * process from floods; they are per process by design (the database holds every invariant that matters).
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>()
  private lastSweep = 0

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
    private readonly windowMs = 60_000,
  ) {}

  get enabled(): boolean {
    return this.perMinute > 0
  }

  /** Counts one request for `key`; returns seconds to wait when over the limit, else undefined. */
  take(key: string): number | undefined {
    if (!this.enabled) return undefined
    const now = this.now()
    this.sweep(now)
    const entry = this.windows.get(key)
    if (entry === undefined || now - entry.start >= this.windowMs) {
      this.windows.set(key, { start: now, count: 1 })
      return undefined
    }
    entry.count++
    return entry.count > this.perMinute ? Math.max(1, Math.ceil((entry.start + this.windowMs - now) / 1000)) : undefined
  }

  /** Drops ended windows now and then, so memory follows the number of recently active keys. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return
    this.lastSweep = now
    for (const [key, entry] of this.windows) if (now - entry.start >= this.windowMs) this.windows.delete(key)
  }
}
