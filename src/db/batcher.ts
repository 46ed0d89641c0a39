/**
 * Coalesces concurrent calls into batches, so that under load many callers share one statement and one
 * round trip. A call starts a batch at once while fewer than `concurrency` batches are running, so a
 * lone call waits for nothing; otherwise it queues, and the next batch to start takes every queued call
 * (at most `maxSize`). Each caller gets its own result, or the error of the batch it was in.
 */
export interface BatcherOptions {
  /** Batches running at the same time. */
  concurrency: number
  /** Most calls in one batch. */
  maxSize: number
}

interface Waiting<In, Out> {
  input: In
  resolve(output: Out): void
  reject(error: unknown): void
}

export class Batcher<In, Out> {
  readonly #queue: Array<Waiting<In, Out>> = []
  #running = 0

  constructor(
    /** Runs one batch: one output per input, in the inputs' order. */
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    private readonly options: BatcherOptions,
  ) {
    if (!(options.concurrency >= 1 && options.maxSize >= 1))
      throw new RangeError('a batcher needs a concurrency and a batch size of at least 1')
  }

  call(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject })
      this.#start()
    })
  }

  #start(): void {
    while (this.#running < this.options.concurrency && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.options.maxSize)
      this.#running++
      this.#settle(batch).finally(() => {
        this.#running--
        this.#start()
      })
    }
  }

  async #settle(batch: Array<Waiting<In, Out>>): Promise<void> {
    try {
      const outputs = await this.run(batch.map((w) => w.input))
      if (outputs.length !== batch.length)
        throw new Error(`a batch of ${batch.length} calls answered ${outputs.length} results`)
      for (const [i, w] of batch.entries()) w.resolve(outputs[i] as Out)
    } catch (err) {
      for (const w of batch) w.reject(err)
    }
  }
}
