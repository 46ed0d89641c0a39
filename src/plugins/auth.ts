/**
 * Signed-wallet authentication (SPEC §2). `requireWallet` checks `auth:{ts}`; `requireRecipientUpdate`
 * checks `recipient_coldkey:update:{ts}:{recipient}` against the recipient the body names. Both refuse
 * with a 401 that says what was wrong, make state-changing signatures single-use, and register the miner.
 */
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { RECIPIENT_MESSAGE, recipientMessage, WALLET_MESSAGE, walletMessage } from '../crypto/messages.ts'
import { decodeHotkey, parseSignature } from '../crypto/sr25519.ts'
import { PoolError } from '../errors.ts'
import { RateLimiter } from '../http/rate-limit.ts'
import { recipientFromBody } from '../http/recipient.ts'
import type { PoolContext } from '../services/context.ts'
import type { AuthFailureReason } from '../metrics.ts'

export interface AuthenticatedMiner {
  hotkey: string
  publicKey: Uint8Array
  /** True when this request registered the miner. */
  created: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    requireWallet: preHandlerAsyncHookHandler
    requireRecipientUpdate: preHandlerAsyncHookHandler
  }
  interface FastifyRequest {
    miner: AuthenticatedMiner | undefined
    consumedSignature: string | undefined
  }
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

function header(request: FastifyRequest, name: string): string {
  const value = request.headers[name]
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined || text.trim() === '') {
    throw failure(
      'missing_header',
      'POOL_ERR_AUTH_MISSING_HEADER',
      `missing ${name.replace(/(^|-)x/, 'X').replace(/-(\w)/g, (_, c: string) => `-${c.toUpperCase()}`)} header`,
    )
  }
  return text.trim()
}

function failure(
  reason: AuthFailureReason,
  code: ConstructorParameters<typeof PoolError>[0],
  detail: string,
): PoolError {
  const error = new PoolError(code, detail)
  ;(error as PoolError & { authReason?: AuthFailureReason }).authReason = reason
  return error
}

export default fp(
  async (app, opts: { pool: PoolContext }) => {
    const { pool } = opts
    const perHotkey = new RateLimiter(pool.config.rateLimitPerMinute, () => pool.clock.now())
    app.decorateRequest('miner', undefined)
    app.decorateRequest('consumedSignature', undefined)

    const authenticate =
      (messageFor: (ts: string, request: FastifyRequest) => string, what: string): preHandlerAsyncHookHandler =>
      async (request: FastifyRequest, _reply: FastifyReply) => {
        try {
          if (STATE_CHANGING.has(request.method)) {
            // Maintenance holds writes back before any signature work; reads keep being served.
            const maintenance = await pool.controls.maintenanceState()
            if (maintenance.on) {
              throw new PoolError(
                'POOL_ERR_MAINTENANCE',
                `pool is in maintenance${maintenance.message === '' ? '' : `: ${maintenance.message}`}; retry after ${maintenance.retryAfterS} s`,
                { 'retry-after': String(maintenance.retryAfterS) },
              )
            }
          }
          const key = header(request, 'x-key')
          const timestamp = header(request, 'x-timestamp')
          const signatureHex = header(request, 'x-signature')
          if (!/^\d{1,15}$/.test(timestamp))
            throw failure(
              'bad_timestamp',
              'POOL_ERR_AUTH_BAD_TIMESTAMP',
              'invalid timestamp: X-Timestamp must be unix seconds as a decimal integer',
            )
          const nowS = pool.clock.now() / 1000
          const skew = Number(timestamp) - nowS
          if (Math.abs(skew) > pool.config.authMaxSkewS) {
            throw failure(
              'stale_timestamp',
              'POOL_ERR_AUTH_STALE_TIMESTAMP',
              `timestamp outside the allowed skew: ${Math.round(Math.abs(skew))} s ${skew < 0 ? 'in the past' : 'in the future'} (limit ${pool.config.authMaxSkewS} s)`,
            )
          }
          const decoded = decodeHotkey(key)
          if ('error' in decoded)
            throw failure('bad_address', 'POOL_ERR_AUTH_BAD_ADDRESS', `invalid hotkey address: ${decoded.error}`)
          const signature = parseSignature(signatureHex)
          if (signature === undefined)
            throw failure(
              'bad_signature',
              'POOL_ERR_AUTH_BAD_SIGNATURE',
              'invalid signature: X-Signature must be 64 bytes of hex',
            )
          if (!(await pool.verifier.verify(decoded.publicKey, messageFor(timestamp, request), signature))) {
            throw failure(
              'bad_signature',
              'POOL_ERR_AUTH_BAD_SIGNATURE',
              `invalid signature: it does not verify for this hotkey over ${what}`,
            )
          }
          // After the signature: only the key's holder learns that it is banned.
          const banned = await pool.controls.banReason(key)
          if (banned !== undefined)
            throw new PoolError('POOL_ERR_MINER_BANNED', `hotkey ${key} is banned from this pool: ${banned}`)
          // Counted only once the signature verifies, so nobody can spend another hotkey's budget.
          const wait = perHotkey.take(key)
          if (wait !== undefined)
            throw new PoolError('POOL_ERR_RATE_LIMITED', `Too many requests for this hotkey; retry after ${wait} s`, {
              'retry-after': String(wait),
            })
          // A state-changing request's signature is recorded as used (the database's key decides, so a replay
          // is refused whichever API process sees it) together with the miner's last_seen.
          const normalized = Buffer.from(signature).toString('hex')
          const single = STATE_CHANGING.has(request.method)
            ? { value: normalized, expiresAtMs: (Number(timestamp) + pool.config.authMaxSkewS + 60) * 1000 }
            : undefined
          // When touch fails it leaves the signature unrecorded; a replay's belongs to the request that used it.
          const { created, replay } = await pool.miners.touch(
            key,
            Buffer.from(decoded.publicKey).toString('hex'),
            pool.clock.now(),
            single,
          )
          if (replay) throw failure('replay', 'POOL_ERR_AUTH_REPLAY', 'signature already used')
          // From here a refusal gives the signature back (onSend below).
          if (single !== undefined) request.consumedSignature = normalized
          request.miner = { hotkey: key, publicKey: decoded.publicKey, created }
        } catch (err) {
          const reason = (err as { authReason?: AuthFailureReason }).authReason
          if (reason !== undefined) pool.metrics.authFailures.inc({ reason })
          throw err
        }
      }

    app.decorate('requireWallet', authenticate(walletMessage, WALLET_MESSAGE))
    app.decorate(
      'requireRecipientUpdate',
      authenticate((ts, request) => recipientMessage(ts, recipientFromBody(request.body) ?? ''), RECIPIENT_MESSAGE),
    )

    // A refused request must leave no trace, so its signature becomes usable again. This runs before the
    // response leaves (onSend, not onResponse): a client retrying as soon as it reads the refusal must find
    // the signature released, on PostgreSQL too.
    app.addHook('onSend', (request, reply, payload, done) => {
      const signature = request.consumedSignature
      if (signature === undefined || reply.statusCode < 400) {
        done(null, payload)
        return
      }
      request.consumedSignature = undefined
      pool.signatures
        .release(signature)
        .catch((err: unknown) => request.log.warn({ err }, 'could not release signature'))
        .finally(() => done(null, payload))
    })
  },
  { name: 'pool-auth' },
)
