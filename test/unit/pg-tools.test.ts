// Picking PostgreSQL client tools for `sotapool backup`: a fitting version, or an error that says what to install.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { installedPgTools, pgToolFor } from '../../src/db/pg-tools.ts'

describe('pg tools', () => {
  it('a server newer than every installed pg_dump gets an error naming the client tools to install', async () => {
    await assert.rejects(pgToolFor('pg_dump', 99), (err: Error) => {
      assert.match(
        err.message,
        /^pg_dump for a PostgreSQL 99 server: .*install the PostgreSQL 99 client tools \(Debian: postgresql-client-99\)/,
      )
      return true
    })
  })

  it('refuses a server version that is not a number rather than picking a tool for it', async () => {
    await assert.rejects(pgToolFor('pg_dump', Number.NaN), /the server reported no usable version/)
  })

  it('picks the oldest installed copy that is at least as new as the server', async (t) => {
    const installed = await installedPgTools('pg_dump')
    if (installed.length === 0) {
      t.skip('no pg_dump on this machine')
      return
    }
    const oldest = Math.min(...installed.map((i) => i.major))
    const picked = await pgToolFor('pg_dump', oldest)
    assert.equal(picked.major, oldest)
    assert.match(picked.version, /^\d+/)
    await assert.rejects(pgToolFor('pg_dump', Math.max(...installed.map((i) => i.major)) + 1), /older than the server/)
  })
})
