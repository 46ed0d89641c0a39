/** The operator CLI as operators run it: `node bin/sotapool.mjs …` in a process of its own. */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/sotapool.mjs', import.meta.url))

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** The environment a CLI run starts from: only what a shell needs, so no stray variable leaks in. */
export function baseEnv(): Record<string, string> {
  return Object.fromEntries(
    ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT'].flatMap((k) =>
      process.env[k] === undefined ? [] : [[k, process.env[k]!]],
    ),
  )
}

export async function runCli(cwd: string, env: Record<string, string>, ...args: string[]): Promise<Run> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr: err?.killed === true ? `${stderr}\n(killed: timeout)` : stderr })
    })
  })
}
