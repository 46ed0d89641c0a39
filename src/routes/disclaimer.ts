/** The no-reward-guarantee disclaimer, as JSON and as Markdown (also at the root for old clients). */
import { readFileSync } from 'node:fs'
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

const DisclaimerResponse = Type.Object({
  code: Type.Literal('no_reward_guarantee'),
  version: Type.String(),
  title: Type.String(),
  must_display: Type.Boolean(),
  url: Type.String(),
  summary: Type.String(),
  text: Type.String(),
})

const BUILT_IN = new URL('../content/disclaimer.md', import.meta.url)

export function disclaimerText(file: string): string {
  return readFileSync(file === '' ? BUILT_IN : file, 'utf8')
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const text = disclaimerText(app.pool.config.disclaimerFile)
  const body = {
    code: 'no_reward_guarantee' as const,
    version: app.pool.config.disclaimerFile === '' ? '2026-11-29' : 'operator',
    title: 'No reward guarantee',
    must_display: true,
    url: '/api/v1/disclaimer.md',
    summary:
      'Participation guarantees no reward, payout, emission, rank, validator acceptance or claimability; every part of the system can fail. Not financial advice.',
    text,
  }
  app.get(
    '/api/v1/disclaimer',
    {
      schema: { tags: ['disclaimer'], summary: 'Disclaimer as JSON', response: { 200: DisclaimerResponse } },
    },
    async () => body,
  )
  for (const url of ['/api/v1/disclaimer.md', '/disclaimer.md']) {
    app.get(
      url,
      {
        schema: {
          tags: ['disclaimer'],
          summary: url.startsWith('/api')
            ? 'Disclaimer as Markdown'
            : 'Disclaimer as Markdown (root compatibility route)',
          produces: ['text/markdown'],
          response: { 200: { type: 'string', description: 'text/markdown' } },
        },
      },
      async (_request, reply) => await reply.type('text/markdown; charset=utf-8').send(text),
    )
  }
}

export default routes
