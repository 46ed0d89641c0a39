/**
 * `sotapool epoch verify --url`: checks a pool's closed epochs from outside, with no database. Fetches the
 * epoch artifacts over HTTP and runs `checkEpochArtifact` on each, oldest first, chaining cumulative
 * credit and the windows and blocks covered from one epoch to the next. The report names the first
 * mismatch; exit 0 only when all hold.
 */
import { SingleBar } from 'cli-progress'
import { checkEpochArtifact, creditState, type CreditState } from '../domain/epoch-artifact.ts'

/** A progress bar from this many leaves on (drawn on a terminal only). */
const PROGRESS_FROM_LEAVES = 10_000
const PROBLEMS_SHOWN = 10

export interface RemoteVerifyOptions {
  url: string
  epoch?: number
  /** A root obtained independently (from chain) that the artifact's root must equal; with `epoch` only. */
  root?: string
  out?: (line: string) => void
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  let response: Response
  try {
    response = await fetch(url, { headers: { accept: 'application/json' } })
  } catch (err) {
    throw new Error(
      `cannot reach ${url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
    )
  }
  const text = await response.text()
  try {
    return { status: response.status, body: JSON.parse(text) as unknown }
  } catch {
    return { status: response.status, body: text }
  }
}

/** The claim app's base URL: the URL itself (a claim server) or its `/claims` (a Pool API). */
async function claimBase(url: string): Promise<{ base: string; epochs: number[] }> {
  const trimmed = url.replace(/\/+$/, '')
  for (const base of [trimmed, `${trimmed}/claims`]) {
    const r = await getJson(`${base}/epochs`).catch(() => undefined)
    const body = r?.body as { epochs?: unknown } | undefined
    if (r?.status === 200 && Array.isArray(body?.epochs) && body.epochs.every((e) => Number.isSafeInteger(e))) {
      return { base, epochs: (body.epochs as number[]).slice().sort((a, b) => a - b) }
    }
  }
  throw new Error(`${url} serves no claim app: neither ${trimmed}/epochs nor ${trimmed}/claims/epochs lists epochs`)
}

async function fetchArtifact(base: string, epoch: number): Promise<unknown> {
  const url = `${base}/epoch/${epoch}/artifact`
  const r = await getJson(url)
  if (r.status !== 200)
    throw new Error(`${url} answered ${r.status}: ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`)
  if (typeof r.body === 'string') throw new Error(`${url} did not answer JSON`)
  return r.body
}

/** Returns the exit code: 0 when every checked epoch verifies, 1 otherwise. */
export async function verifyRemote(options: RemoteVerifyOptions): Promise<number> {
  const out =
    options.out ??
    ((line: string) => {
      process.stdout.write(`${line}\n`)
    })
  const { base, epochs } = await claimBase(options.url)
  if (options.root !== undefined && options.epoch === undefined)
    throw new Error('--root needs --epoch: it is the root of one epoch')
  if (options.epoch !== undefined && !epochs.includes(options.epoch)) {
    throw new Error(
      `epoch ${options.epoch} is not closed on ${base} (closed: ${epochs.length === 0 ? 'none' : `${epochs[0]}..${epochs.at(-1)}`})`,
    )
  }
  if (epochs.length === 0) {
    out(`${base}: no closed epoch yet, nothing to verify`)
    return 0
  }
  const targets = options.epoch === undefined ? epochs : [options.epoch]
  out(
    `verifying ${base}: ${targets.length === 1 ? `epoch ${targets[0]}` : `epochs ${targets[0]}..${targets.at(-1)} (${targets.length})`}`,
  )

  // Credit (and where the epoch before ended) before the first target: none for the pool's first epoch,
  // else what the epoch before states.
  let previous: CreditState | null = null
  const first = targets[0]!
  if (first !== epochs[0]) {
    if (!epochs.includes(first - 1))
      throw new Error(`epoch ${first - 1} is not listed by ${base}, so the credit before epoch ${first} is unknown`)
    previous = creditState(await fetchArtifact(base, first - 1))
    out(
      `  credit before epoch ${first} read from epoch ${first - 1}'s artifact (verify that one too, or run without --epoch)`,
    )
  }

  const failed: string[] = []
  for (const epoch of targets) {
    const artifact = await fetchArtifact(base, epoch)
    const leaves = Array.isArray((artifact as { leaves?: unknown }).leaves)
      ? (artifact as { leaves: unknown[] }).leaves.length
      : 0
    const bar =
      leaves >= PROGRESS_FROM_LEAVES
        ? new SingleBar({ format: `  epoch ${epoch} [{bar}] {value}/{total} leaves`, stream: process.stderr })
        : null
    bar?.start(leaves, 0)
    const check = checkEpochArtifact(artifact, previous, (done) => bar?.update(done))
    bar?.stop()
    if (options.root !== undefined && check.root !== null && check.root !== options.root.toLowerCase()) {
      check.problems.unshift(
        `root: the artifact names ${check.root}, the root given with --root is ${options.root.toLowerCase()}`,
      )
    }
    const a = artifact as Record<string, unknown>
    if (check.problems.length === 0) {
      out(
        `epoch ${epoch}: ok — ${check.leaves} leaves, root ${check.root}, paid ${String(a.epoch_units)} + fee ${String(a.fee_units)} + undistributed ${String(a.undistributed_units)} = budget ${String(a.budget_units)}`,
      )
    } else {
      failed.push(`epoch ${epoch}: ${check.problems[0]!}`)
      out(`epoch ${epoch}: MISMATCH — ${check.problems[0]!}`)
      for (const p of check.problems.slice(1, PROBLEMS_SHOWN)) out(`  also: ${p}`)
      if (check.problems.length > PROBLEMS_SHOWN) out(`  … and ${check.problems.length - PROBLEMS_SHOWN} more`)
    }
    // Keep chaining from what the artifact states, so one bad epoch does not hide the next one's state.
    previous =
      check.state ??
      (() => {
        try {
          return creditState(artifact)
        } catch {
          return null
        }
      })()
    if (previous === null && epoch !== targets.at(-1)) {
      out(`  the credit of epoch ${epoch} cannot be read, so later epochs cannot be checked`)
      failed.push(`epoch ${epoch}: unreadable credit`)
      break
    }
  }
  if (failed.length === 0) {
    out(`result: ${targets.length === 1 ? 'the epoch verifies' : `all ${targets.length} epochs verify`}`)
    return 0
  }
  out(
    `result: ${failed.length} of ${targets.length} epoch${targets.length === 1 ? '' : 's'} do${failed.length === 1 ? 'es' : ''} not verify; first mismatch: ${failed[0]!}`,
  )
  return 1
}
