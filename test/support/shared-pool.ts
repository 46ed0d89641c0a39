/**
 * Several pools on ONE database, standing in for several API processes behind a load balancer: the one
 * way tests run more than one pool. Each node has its own pool context (its own database handle and
 * connections) and its own Fastify app; all share one store and one pinned clock. On PostgreSQL the store
 * is a fresh test database; on SQLite a temp file.
 *
 * Node 0 runs in the test's thread (its database handle is there for assertions); every other node runs
 * in a worker thread, i.e. with an event loop of its own like a real second process. That matters on
 * SQLite: better-sqlite3 waits for a busy database synchronously, so two connections in ONE thread would
 * stall each other (the one waiting blocks the thread the lock holder needs to commit), which separate
 * processes never do. Requests reach a worker node through `inject` over a message channel, with the
 * pinned clock's time attached, so miners drive every node the same way.
 *
 * This file is also the worker's entry point (see the bottom).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Kysely } from 'kysely'
import { buildApp } from '../../src/app.ts'
import { ManualClock } from '../../src/clock.ts'
import { loadConfig, type Config } from '../../src/config.ts'
import type { DB } from '../../src/db/schema.ts'
import { BackgroundJobs } from '../../src/jobs/background-jobs.ts'
import { createPoolContext, type PoolContext } from '../../src/services/context.ts'
import { createSharedTestStore } from './database.ts'
import { TEST_ENV, VECTOR_TIME_MS } from './pool.ts'

/** One API "process": an app miners can drive, and the background jobs it would run. */
export interface PoolNode {
  /** The real app (node 0) or a stand-in whose `inject` and `pool.clock` are all TestMiner needs. */
  app: FastifyInstance
  closeWindow(windowNumber: number): Promise<boolean>
  closeEnded(): Promise<number[]>
  /** Closes every epoch that is ready; the numbers this node closed. */
  closeEpochs(): Promise<number[]>
  /** One pass of the background jobs (expiry, windows, epochs), as the server's timer runs it. */
  runCloser(): Promise<void>
}

export interface SharedPools {
  url: string
  config: Config
  clock: ManualClock
  nodes: PoolNode[]
  /** Node 0's database handle, for assertions. */
  db: Kysely<DB>
  /** Node 0's pool context (its services), for assertions. */
  main: PoolContext
  close(): Promise<void>
}

interface WorkerInit {
  env: Record<string, string>
  nowMs: number
  holdStart: boolean
}
type Op =
  | { op: 'inject'; options: InjectOptions }
  | { op: 'closeWindow'; windowNumber: number }
  | { op: 'closeEnded' }
  | { op: 'closeEpochs' }
  | { op: 'runCloser' }
  | { op: 'shutdown' }
interface Call {
  id: number
  nowMs: number
  call: Op
}
interface Reply {
  id: number
  ok: boolean
  value?: unknown
  error?: string
}

/** A store that several handles can open by URL; `drop` removes it once every handle is closed. */
const envFor = (env: Record<string, string>, url: string): Record<string, string> => ({
  ...TEST_ENV,
  ...env,
  DATABASE_URL: url,
})

/** A node in a worker thread, reached by messages. */
class WorkerNode implements PoolNode {
  readonly app: FastifyInstance
  private nextId = 1
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()

  private constructor(
    private readonly worker: Worker,
    private readonly clock: ManualClock,
    private readonly offsetMs: number,
  ) {
    worker.on('message', (reply: Reply) => {
      const w = this.waiting.get(reply.id)
      if (w === undefined) return
      this.waiting.delete(reply.id)
      if (reply.ok) w.resolve(reply.value)
      else w.reject(new Error(reply.error))
    })
    worker.on('error', (err) => {
      for (const w of this.waiting.values()) w.reject(err)
    })
    const node = this // eslint-disable-line @typescript-eslint/no-this-alias
    this.app = {
      pool: { clock: { now: () => clock.now() + offsetMs } },
      async inject(options: InjectOptions): Promise<LightMyRequestResponse> {
        const r = (await node.call({ op: 'inject', options })) as {
          statusCode: number
          headers: Record<string, string>
          body: string
        }
        return { ...r, payload: r.body, json: () => JSON.parse(r.body) } as unknown as LightMyRequestResponse
      },
    } as unknown as FastifyInstance
  }

  /**
   * Spawns a worker node. `loaded` settles once its modules are loaded; with `holdStart` it then waits for
   * `go()` before opening the database, so several nodes can start at the same moment.
   */
  static spawn(
    env: Record<string, string>,
    clock: ManualClock,
    holdStart: boolean,
    offsetMs: number,
  ): { loaded: Promise<void>; go(): void; ready: Promise<WorkerNode> } {
    // The worker loads this TypeScript file itself, so it registers tsx first (loader hooks of the parent
    // thread do not reach worker threads on every Node version).
    const entry = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}) })`
    const worker = new Worker(entry, {
      eval: true,
      workerData: { env, nowMs: clock.now() + offsetMs, holdStart } satisfies WorkerInit,
    })
    let markLoaded: () => void = () => {}
    const loaded = new Promise<void>((resolve) => {
      markLoaded = resolve
    })
    const ready = new Promise<WorkerNode>((resolve, reject) => {
      const onMessage = (m: { loaded?: boolean; ready?: boolean; error?: string }): void => {
        if (m.loaded === true) {
          markLoaded()
          return
        }
        worker.off('message', onMessage)
        worker.off('error', onError)
        markLoaded()
        if (m.ready === true) resolve(new WorkerNode(worker, clock, offsetMs))
        else reject(new Error(`worker node failed to start: ${m.error}`))
      }
      const onError = (err: Error): void => {
        markLoaded()
        reject(err)
      }
      worker.on('message', onMessage)
      worker.once('error', onError)
    })
    ready.catch(async () => {
      await worker.terminate()
    })
    return {
      loaded,
      go: () => {
        worker.postMessage({ go: true })
      },
      ready,
    }
  }

  private async call(call: Op): Promise<unknown> {
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.worker.postMessage({ id, nowMs: this.clock.now() + this.offsetMs, call } satisfies Call)
    })
  }

  async closeWindow(windowNumber: number): Promise<boolean> {
    return (await this.call({ op: 'closeWindow', windowNumber })) as boolean
  }
  async closeEnded(): Promise<number[]> {
    return (await this.call({ op: 'closeEnded' })) as number[]
  }
  async closeEpochs(): Promise<number[]> {
    return (await this.call({ op: 'closeEpochs' })) as number[]
  }
  async runCloser(): Promise<void> {
    await this.call({ op: 'runCloser' })
  }

  async stop(): Promise<void> {
    await this.call({ op: 'shutdown' }).catch(() => {})
    await this.worker.terminate()
  }
}

/**
 * `count` nodes on one fresh store. With `startTogether` all nodes start at once (migrations and seeding
 * race as they do when several processes start together); otherwise one after the other.
 * `clockOffsetsMs[i]` runs worker node i (i ≥ 1) that far ahead of the shared clock (a process whose
 * clock runs ahead); node 0 always runs on the shared clock.
 */
export async function startSharedPools(
  count: number,
  env: Record<string, string> = {},
  options: { startTogether?: boolean; clockOffsetsMs?: number[] } = {},
): Promise<SharedPools> {
  const store = await createSharedTestStore()
  const clock = new ManualClock(VECTOR_TIME_MS)
  const fullEnv = envFor(env, store.url)
  const config = loadConfig(fullEnv)
  let main: PoolContext | undefined
  const workers: WorkerNode[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(
      workers.map(async (w) => {
        await w.stop()
      }),
    )
    if (main !== undefined) await main.close()
    await store.drop()
  }
  try {
    const together = options.startTogether === true
    if (!together) main = await createPoolContext(config, { clock })
    const spawned = Array.from({ length: count - 1 }, (_, i) =>
      WorkerNode.spawn(fullEnv, clock, together, options.clockOffsetsMs?.[i + 1] ?? 0),
    )
    if (together) {
      await Promise.all(
        spawned.map(async (w) => {
          await w.loaded
        }),
      )
      for (const w of spawned) w.go()
    }
    const [mainStarted, ...started] = await Promise.allSettled([
      together ? createPoolContext(config, { clock }) : Promise.resolve(main as PoolContext),
      ...spawned.map(async (w) => await w.ready),
    ])
    if (mainStarted!.status === 'fulfilled') main = mainStarted!.value
    for (const w of started) if (w.status === 'fulfilled') workers.push(w.value)
    const failed = [mainStarted!, ...started].find((r) => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  } catch (err) {
    await stop()
    throw err
  }
  const mainContext = main as unknown as PoolContext
  const app = await buildApp(mainContext)
  const mainNode: PoolNode = {
    app,
    closeWindow: async (w) => await mainContext.windows.close(w),
    closeEnded: async () => await mainContext.windows.closeEnded(),
    closeEpochs: async () => await mainContext.epochs.closeReady(),
    runCloser: async () => {
      await new BackgroundJobs(mainContext, app.log).runOnce()
    },
  }
  return {
    url: store.url,
    config,
    clock,
    nodes: [mainNode, ...workers],
    db: mainContext.database.db,
    main: mainContext,
    async close() {
      await app.close()
      await stop()
    },
  }
}

// --- worker entry ---------------------------------------------------------------------------------

async function serveWorker(init: WorkerInit): Promise<void> {
  const port = parentPort!
  const clock = new ManualClock(init.nowMs)
  let pool: PoolContext
  let app: FastifyInstance
  if (init.holdStart) {
    const go = new Promise<void>((resolve) => {
      port.once('message', () => {
        resolve()
      })
    })
    port.postMessage({ loaded: true })
    await go
  }
  try {
    pool = await createPoolContext(loadConfig(init.env), { clock })
    app = await buildApp(pool)
  } catch (err) {
    port.postMessage({ error: (err as Error).stack ?? String(err) })
    return
  }
  port.on('message', (message: Call) => {
    clock.set(message.nowMs)
    const run = async (): Promise<unknown> => {
      const call = message.call
      switch (call.op) {
        case 'inject': {
          const r = await app.inject(call.options)
          return { statusCode: r.statusCode, headers: r.headers, body: r.body }
        }
        case 'closeWindow':
          return await pool.windows.close(call.windowNumber)
        case 'closeEnded':
          return await pool.windows.closeEnded()
        case 'closeEpochs':
          return await pool.epochs.closeReady()
        case 'runCloser':
          return await new BackgroundJobs(pool, app.log).runOnce()
        case 'shutdown':
          await app.close()
          await pool.close()
          return true
      }
    }
    run().then(
      (value) => {
        port.postMessage({ id: message.id, ok: true, value } satisfies Reply)
      },
      (err: unknown) => {
        port.postMessage({ id: message.id, ok: false, error: (err as Error).message } satisfies Reply)
      },
    )
  })
  port.postMessage({ ready: true })
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.env !== undefined) {
  void serveWorker(workerData as WorkerInit)
}
