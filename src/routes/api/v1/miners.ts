/** `/api/v1/miners/*`: registration, stats, leaderboard and the payout recipient. */
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify'
import { RECIPIENT_MESSAGE } from '../../../crypto/messages.ts'
import { decodeHotkey } from '../../../crypto/sr25519.ts'
import { recipientFromBody } from '../../../http/recipient.ts'
import { refuseOtherSpelling } from '../../../http/validation.ts'
import { epochWindows } from '../../../domain/tempo.ts'
import { PoolError, validationError } from '../../../errors.ts'
import { errors, Hotkey, IsoTime, Nullable, Units, walletSecurity } from '../../../schemas/common.ts'
import { RecipientResponse, RecipientUpdateResponse, RegisterResponse } from '../../../schemas/miners.ts'

const StatsResponse = Type.Object({
  hotkey: Type.String(),
  reputation: Type.Number({ description: "Sum of the miner's window points, all time." }),
  epoch_points: Type.Number({ description: "Points of the current epoch's closed windows." }),
  evaluations_submitted: Type.Integer(),
  agreements: Type.Integer(),
  disagreements: Type.Integer(),
  evolutions: Type.Integer(),
  scored_evolutions: Type.Integer(),
  credited_units: Units,
  claimed_units: Units,
  claimable_units: Units,
  credit_status: Type.String({
    description:
      '`no credit yet`; `credited, waiting for a recipient` (set a recipient coldkey: the next epoch close puts the whole credit in a leaf); `recipient set, in the claim tree from the next epoch close …`; or `in the claim tree`.',
  }),
  awaiting_recipient_units: Units,
  recipient_coldkey: Nullable(Type.String()),
  recipient_updated_at: Nullable(IsoTime),
  created_at: Nullable(IsoTime),
  last_seen: Nullable(IsoTime),
  active_assignment: Nullable(Type.Object({ id: Type.String(), kind: Type.String(), timeout_at: Nullable(IsoTime) })),
  pool: Type.Object({
    miners_total: Type.Integer(),
    miners_active_last_hour: Type.Integer(),
    window_number: Type.Integer(),
    epoch: Type.Integer(),
    sota: Type.Record(Type.String(), Type.Number(), { description: 'Best consensus score per task type.' }),
  }),
})

const LeaderboardResponse = Type.Object({
  miners: Type.Array(
    Type.Object({
      rank: Type.Integer(),
      hotkey: Type.String(),
      reputation: Type.Number(),
      created_at: Nullable(IsoTime),
      last_seen: Nullable(IsoTime),
    }),
  ),
  count: Type.Integer(),
})

const RecipientUpdateBody = Type.Object(
  {
    recipient_coldkey: Type.Optional(
      Type.String({ maxLength: 64, description: "SS58 address that receives this hotkey's payouts." }),
    ),
    coldkey_address: Type.Optional(Type.String({ maxLength: 64, description: 'Legacy alias of recipient_coldkey.' })),
  },
  { additionalProperties: true },
)

/** Before authentication: the body must name a valid recipient, since the signature binds it. */
async function checkRecipientBody(request: FastifyRequest): Promise<void> {
  const body = request.body
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PoolError('POOL_ERR_VALIDATION', [
      { loc: ['body'], msg: 'Input should be of type object', type: 'type_error.object' },
    ])
  }
  // Same precedence as recipientFromBody, which builds the signed message.
  const fields = body as Record<string, unknown>
  const field =
    fields.recipient_coldkey !== undefined && fields.recipient_coldkey !== null
      ? 'recipient_coldkey'
      : 'coldkey_address'
  const value = fields[field]
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    throw new PoolError('POOL_ERR_VALIDATION', [
      {
        loc: ['body', 'recipient_coldkey'],
        msg: 'Field required: recipient_coldkey (or legacy coldkey_address)',
        type: 'missing',
      },
    ])
  }
  if (typeof value !== 'string') {
    throw new PoolError('POOL_ERR_VALIDATION', [
      { loc: ['body', field], msg: 'Input should be of type string', type: 'type_error.string' },
    ])
  }
  const decoded = decodeHotkey(value.trim())
  if ('error' in decoded) {
    throw validationError(
      ['body', field],
      decoded.canonical === undefined
        ? 'recipient must be a valid SS58 address (prefix 42)'
        : `recipient: ${decoded.error}`,
    )
  }
}

/** The recipient update, shared by the PUT route and its three compatibility aliases. */
export function registerRecipientUpdate(
  app: FastifyInstance,
  method: 'PUT' | 'POST',
  url: string,
  summary: string,
): void {
  const options: RouteShorthandOptions = {
    schema: {
      tags: ['miners'],
      summary,
      description: `Signed over \`${RECIPIENT_MESSAGE}\`. The recipient in force when an epoch closes is the one in its claim leaves.`,
      security: walletSecurity,
      body: RecipientUpdateBody,
      response: { 200: RecipientUpdateResponse, ...errors(401, 422) },
    },
    preValidation: checkRecipientBody,
    preHandler: app.requireRecipientUpdate,
  }
  app.route({
    method,
    url,
    ...options,
    handler: async (request) => {
      const hotkey = request.miner!.hotkey
      const recipient = recipientFromBody(request.body)!
      const saved = await app.pool.miners.setRecipient(hotkey, recipient, app.pool.clock.now())
      return {
        status: 'success',
        miner_hotkey: hotkey,
        recipient_coldkey: saved.recipient_coldkey,
        coldkey_address: saved.recipient_coldkey,
        updated_at: saved.updated_at,
      }
    },
  })
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const pool = app.pool

  app.post(
    '/register',
    {
      schema: {
        tags: ['miners'],
        summary: 'Register or refresh the signing miner',
        security: walletSecurity,
        body: Type.Optional(Type.Object({}, { additionalProperties: true })),
        response: { 200: RegisterResponse, ...errors(401) },
      },
      preHandler: app.requireWallet,
    },
    async (request) => {
      const miner = await pool.miners.get(request.miner!.hotkey)
      return { status: request.miner!.created ? ('registered' as const) : ('refreshed' as const), ...miner }
    },
  )

  app.get(
    '/stats',
    {
      schema: {
        tags: ['miners'],
        summary: "The signing miner's stats and a pool summary",
        security: walletSecurity,
        response: { 200: StatsResponse, ...errors(401) },
      },
      preHandler: app.requireWallet,
    },
    async (request) => {
      const now = pool.clock.now()
      const window = pool.currentWindow()
      const epoch = pool.currentEpoch()
      const [stats, counts, sota] = await Promise.all([
        pool.miners.stats(request.miner!.hotkey, epochWindows(epoch, pool.tempo), now),
        pool.miners.counts(now),
        pool.sotaByTaskType(),
      ])
      return {
        ...stats,
        pool: {
          miners_total: counts.total,
          miners_active_last_hour: counts.activeLastHour,
          window_number: window.windowNumber,
          epoch,
          sota,
        },
      }
    },
  )

  app.get(
    '/leaderboard',
    {
      schema: {
        tags: ['miners'],
        summary: 'Miners by reputation, highest first',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) }),
        response: { 200: LeaderboardResponse, ...errors(422) },
      },
    },
    async (request) => {
      const miners = await pool.miners.leaderboard(request.query.limit)
      return { miners, count: miners.length }
    },
  )

  registerRecipientUpdate(app, 'PUT', '/recipient-coldkey', 'Set the payout recipient coldkey')
  registerRecipientUpdate(app, 'POST', '/recipient-coldkey', 'Set the payout recipient coldkey (compatibility)')
  registerRecipientUpdate(app, 'POST', '/coldkey_address/update', 'Set the payout recipient coldkey (compatibility)')

  app.get(
    '/recipient-coldkey',
    {
      schema: {
        tags: ['miners'],
        summary: "The signing miner's recipient coldkey",
        security: walletSecurity,
        response: { 200: RecipientResponse, ...errors(401) },
      },
      preHandler: app.requireWallet,
    },
    async (request) => await pool.miners.getRecipient(request.miner!.hotkey),
  )

  app.get(
    '/recipient-coldkey/:miner_hotkey',
    {
      schema: {
        tags: ['miners'],
        summary: "Public lookup of a miner's recipient coldkey",
        params: Type.Object({ miner_hotkey: Hotkey }),
        response: { 200: RecipientResponse, ...errors(404, 422) },
      },
    },
    async (request) => {
      refuseOtherSpelling(request.params.miner_hotkey, ['path', 'miner_hotkey'])
      return await pool.miners.getRecipient(request.params.miner_hotkey)
    },
  )
}

export default routes
