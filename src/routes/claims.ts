/**
 * The claim app (SPEC §9) as one plugin: mounted in the Pool API under MERKLE_CLAIM_PATH_PREFIX and
 * served alone by `sotapool claims` with no prefix. The simulation and ledger routes exist only when
 * claim simulation is enabled; proofs are always served, from the proof cache when it holds the epoch
 * (sent as the pre-serialized text, with the same bytes the schema serializer writes), with an ETag.
 */
import { Readable } from 'node:stream'
import { Type, type Static } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IMMUTABLE, notModified, REVALIDATE } from '../http/caching.ts'
import { claiming } from '../http/claim.ts'
import { refuseOtherSpelling } from '../http/validation.ts'
import { ClaimBody, EpochArtifact, EpochList, Hex32, ProofPackage } from '../schemas/claims.ts'
import { errors, Hotkey, Nullable, Units } from '../schemas/common.ts'
import type { ProofAnswer } from '../services/claims.ts'

const EpochMeta = Type.Object({
  epoch: Type.Integer(),
  root: Hex32,
  num_of_leaves: Type.Integer(),
  total_units: Units,
  epoch_units: Units,
  fee_units: Units,
  undistributed_units: Units,
  window_start: Type.Integer(),
  window_end: Type.Integer(),
  block_start: Type.Integer(),
  block_end: Type.Integer(),
  closed_at: Type.String(),
  format: Type.String(),
  status: Type.Union([Type.Literal('claimable'), Type.Literal('empty')]),
  awaiting_recipient: Type.Object(
    {
      miners: Type.Integer({
        description: 'Hotkeys credited through this epoch that have no leaf because they had no recipient coldkey.',
      }),
      units: Units,
    },
    {
      description:
        'Credited, waiting for a recipient: this credit gets a leaf in the first epoch that closes after the hotkey sets a recipient.',
    },
  ),
})

const ClaimResponse = Type.Object({
  status: Type.Literal('claimed'),
  epoch: Type.Integer(),
  index: Type.Integer(),
  hotkey: Type.String(),
  recipient_coldkey: Type.String(),
  amount_units: Units,
  transferred_units: Units,
  claimed_cumulative_units: Units,
})

const LedgerResponse = Type.Object({
  epoch: Type.Integer(),
  claims: Type.Array(
    Type.Object({
      index: Type.Integer(),
      hotkey: Type.String(),
      recipient_coldkey: Type.String(),
      amount_units: Units,
      transferred_units: Units,
      claimed_at: Type.String(),
    }),
  ),
  claimed_units: Units,
})

const EpochParam = Type.Object({ epoch_id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) })
const HotkeyParam = Type.Object({ hotkey: Hotkey })
const EpochHotkeyParams = Type.Object({
  epoch_id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  hotkey: Hotkey,
})

const routes: FastifyPluginAsyncTypebox<{ simulation: boolean }> = async (app, opts) => {
  const claims = app.pool.claims
  const tags = ['claims']

  app.get(
    '/health',
    {
      schema: {
        tags,
        summary: 'Claim app health',
        response: {
          200: Type.Object({
            status: Type.Literal('ok'),
            epochs: Type.Integer(),
            default_epoch: Nullable(Type.Integer()),
            simulation: Type.Boolean(),
          }),
        },
      },
    },
    async () => {
      const { epochs, default_epoch: defaultEpoch } = await claims.epochs()
      return { status: 'ok' as const, epochs: epochs.length, default_epoch: defaultEpoch, simulation: opts.simulation }
    },
  )

  app.get(
    '/epochs',
    {
      schema: {
        tags,
        summary: 'Closed epochs, newest first, and the default (newest claimable) epoch',
        response: { 200: EpochList },
      },
    },
    async () => await claims.epochs(),
  )

  app.get(
    '/epoch',
    { schema: { tags, summary: 'Default epoch metadata', response: { 200: EpochMeta, ...errors(404) } } },
    async () => await claims.epochMeta(undefined),
  )
  app.get(
    '/epoch/:epoch_id',
    {
      schema: {
        tags,
        summary: 'Epoch metadata',
        params: EpochParam,
        response: { 200: EpochMeta, ...errors(404, 422) },
      },
    },
    async (request) => await claims.epochMeta(request.params.epoch_id),
  )

  app.get(
    '/epoch/:epoch_id/artifact',
    {
      schema: {
        tags,
        summary: 'The epoch artifact: everything needed to verify a closed epoch from outside',
        description:
          'The complete, versioned artifact of a closed epoch: tree format, every leaf, the payout inputs (points, fee, ' +
          'cap, minimum, budget, windows) and the root. `sotapool epoch verify --url` checks it with no database. Its URL ' +
          '(this path under the public address of the claim app) is stable and is the `uri` an operator publishes on chain ' +
          'with the root. Streamed; closed epochs never change, so it carries an ETag and `Cache-Control: immutable`.',
        params: EpochParam,
        response: {
          200: EpochArtifact,
          304: Type.Null({ description: 'Not modified (If-None-Match matched the ETag).' }),
          ...errors(404, 422),
        },
      },
    },
    async (request, reply) => {
      const { etag, text } = await app.pool.epochs.artifact(request.params.epoch_id)
      if (notModified(request, reply, etag, IMMUTABLE)) return await reply.code(304).send(null)
      // A stream is sent as is (no serialization), so memory stays bounded for any number of leaves.
      return await reply
        .type('application/json; charset=utf-8')
        .send(Readable.from(text) as unknown as Static<typeof EpochArtifact>)
    },
  )

  const notModifiedResponse = Type.Null({ description: 'Not modified (If-None-Match matched the ETag).' })
  const proofReply = async (
    request: FastifyRequest,
    reply: FastifyReply,
    answer: ProofAnswer,
    cacheControl: string,
  ) => {
    if (notModified(request, reply, answer.etag, cacheControl)) return await reply.code(304).send(null)
    // Cached text is sent as is: a string with a JSON type skips the serializer (same bytes, tested).
    if ('text' in answer) return await reply.type('application/json').send(answer.text)
    return answer.package
  }
  for (const verb of ['proof', 'claim']) {
    const alias = verb === 'claim' ? ' (alias of proof)' : ''
    app.get(
      `/epoch/${verb}/:hotkey`,
      {
        schema: {
          tags,
          summary: `Proof package of a hotkey in the default epoch${alias}`,
          description:
            'Carries an ETag and `Cache-Control: no-cache` (the default epoch changes when an epoch closes, so caches revalidate; a matching If-None-Match gets 304).',
          params: HotkeyParam,
          response: { 200: ProofPackage, 304: notModifiedResponse, ...errors(404, 422) },
        },
      },
      async (request, reply) => {
        refuseOtherSpelling(request.params.hotkey, ['path', 'hotkey'])
        return (await proofReply(
          request,
          reply,
          await claims.proofAnswer(undefined, request.params.hotkey),
          REVALIDATE,
        )) as Static<typeof ProofPackage>
      },
    )
    app.get(
      `/epoch/:epoch_id/${verb}/:hotkey`,
      {
        schema: {
          tags,
          summary: `Proof package of a hotkey in an epoch${alias}`,
          description:
            'A closed epoch never changes, so the package carries an ETag and `Cache-Control: immutable` (a matching If-None-Match gets 304).',
          params: EpochHotkeyParams,
          response: { 200: ProofPackage, 304: notModifiedResponse, ...errors(404, 422) },
        },
      },
      async (request, reply) => {
        const { epoch_id: epochId, hotkey } = request.params
        // A hotkey the cache holds is a stored, canonical one: the spelling check (an SS58 decode) is skipped.
        let answer: ProofAnswer | undefined = claims.cachedProof(epochId, hotkey)
        if (answer === undefined) {
          refuseOtherSpelling(hotkey, ['path', 'hotkey'])
          answer = await claims.proofAnswer(epochId, hotkey)
        }
        return (await proofReply(request, reply, answer, IMMUTABLE)) as Static<typeof ProofPackage>
      },
    )
  }

  if (!opts.simulation) return

  const claimSchema = {
    tags,
    description:
      'Recomputes the leaf, folds the proof and compares with the epoch root (400 invalid proof). Transfers the cumulative amount not yet claimed by the hotkey; nothing left → 409 already claimed.',
    body: ClaimBody,
    response: { 200: ClaimResponse, ...errors(400, 404, 409, 422) },
  }
  app.post(
    '/epoch/claim',
    { schema: { ...claimSchema, summary: 'Simulate a claim against the default epoch' } },
    async (request) => await claiming(() => claims.claim(undefined, request.body)),
  )
  app.post(
    '/epoch/:epoch_id/claim',
    { schema: { ...claimSchema, summary: 'Simulate a claim against an epoch', params: EpochParam } },
    async (request) => await claiming(() => claims.claim(request.params.epoch_id, request.body)),
  )
  app.get(
    '/ledger',
    {
      schema: {
        tags,
        summary: 'Simulated claims of the default epoch',
        response: { 200: LedgerResponse, ...errors(404) },
      },
    },
    async () => await claims.ledger(undefined),
  )
  app.get(
    '/ledger/:epoch_id',
    {
      schema: {
        tags,
        summary: 'Simulated claims of an epoch',
        params: EpochParam,
        response: { 200: LedgerResponse, ...errors(404, 422) },
      },
    },
    async (request) => await claims.ledger(request.params.epoch_id),
  )
}

export default routes
