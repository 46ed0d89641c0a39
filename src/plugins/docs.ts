/**
 * API documentation served by the pool itself, no CDN: `/openapi.json`, Swagger UI at `/docs` and
 * Redoc at `/redoc`. The document is built from the route schemas; the error table is part of it.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { bytesWrapped, RECIPIENT_MESSAGE, WALLET_MESSAGE } from '../crypto/messages.ts'
import { errorCodeTable } from '../http/error-handler.ts'
import { pageSecurityHeaders } from '../http/security-headers.ts'
import { VERSION } from '../version.ts'

const require = createRequire(import.meta.url)

const REDOC_REMOTE_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg'

const ERROR_TABLE_CSS = `.swagger-ui .info .markdown table { border-collapse: collapse; margin: 8px 0 }
.swagger-ui .info .markdown th, .swagger-ui .info .markdown td { padding: 4px 10px; border: 1px solid #d0d7de; text-align: left; vertical-align: top }
.swagger-ui .info .markdown th { background: #f6f8fa }`

const errorTableMarkdown = (): string =>
  [
    '| code | status | detail | meaning |',
    '|---|---|---|---|',
    ...errorCodeTable().map((e) => `| \`${e.code}\` | ${e.status} | ${e.message} | ${e.description} |`),
  ].join('\n')

const DESCRIPTION = `
The Pool API of sotapool: miners sign in with sr25519 hotkeys, lease work, submit scores and evolved
algorithms; the pool decides scores by k-of-n consensus, keeps SOTA per task type, turns agreement and
improvement into reputation, pays each epoch out and serves Merkle claim proofs.

## Authentication
Signed routes need three headers: \`X-Key\` (SS58 hotkey, prefix 42), \`X-Timestamp\` (unix seconds) and
\`X-Signature\` (sr25519, 64 bytes hex, with or without \`0x\`). The signed text is \`${WALLET_MESSAGE}\`,
or \`${RECIPIENT_MESSAGE}\` for recipient updates; a signature over
\`${bytesWrapped('…')}\` is accepted too. The timestamp must be within AUTH_MAX_SKEW_S (300 s) of the server.
On POST and PUT routes a signature is single-use. Any valid signed request registers the miner.

## Errors
Every error body is \`{"detail": …, "code": "POOL_ERR_…"}\`. Validation failures are 422 with \`detail\` a
list of \`{loc, msg, type}\`.

${errorTableMarkdown()}
`

const REDOC_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>sotapool API</title>
<link rel="icon" type="image/svg+xml" href="/favicon.svg">
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/redoc/redoc.standalone.js"></script></body></html>`

/**
 * Both pages load only the pool's own files and /openapi.json. Swagger UI and Redoc style their
 * elements at run time (inline styles), Redoc searches in a blob: worker, both show data: images.
 */
const DOCS_HEADERS = pageSecurityHeaders({
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'worker-src': ["'self'", 'blob:'],
})

export default fp(
  async (app) => {
    app.addHook('onRoute', (route) => {
      if (/^\/(docs|redoc)(\/|$)/.test(route.url))
        route.config = { ...route.config, helmet: DOCS_HEADERS } as typeof route.config
    })
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'sotapool Pool API', version: VERSION, description: DESCRIPTION },
        tags: [
          { name: 'health', description: 'Health and tempo' },
          { name: 'miners', description: 'Registration, stats, leaderboard, payout recipient' },
          { name: 'tasks', description: 'Leases, batches and submissions' },
          { name: 'results', description: 'SOTA and verified results' },
          { name: 'claims', description: 'Merkle claim proofs and claim simulation' },
          { name: 'monitor', description: 'Operator monitoring' },
          { name: 'disclaimer', description: 'No reward guarantee' },
        ],
        components: {
          securitySchemes: {
            XKey: { type: 'apiKey', in: 'header', name: 'X-Key', description: 'SS58 hotkey (prefix 42)' },
            XTimestamp: { type: 'apiKey', in: 'header', name: 'X-Timestamp', description: 'Unix seconds, decimal' },
            XSignature: {
              type: 'apiKey',
              in: 'header',
              name: 'X-Signature',
              description: 'sr25519 signature of the signed text, hex',
            },
            MonitorToken: {
              type: 'apiKey',
              in: 'header',
              name: 'X-Monitor-Token',
              description: 'Equals MONITOR_TOKEN',
            },
          },
        },
      },
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
      },
    })
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: false,
      // Swagger UI renders markdown tables without cell spacing, so the error table's headers ran together.
      theme: { css: [{ filename: 'sotapool.css', content: ERROR_TABLE_CSS }] },
    })
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

    // The bundle shows Redocly's logo from their CDN; every page of the pool loads only its own assets.
    const redocBundle = readFileSync(require.resolve('redoc/bundles/redoc.standalone.js'), 'utf8').replace(
      REDOC_REMOTE_LOGO,
      '/favicon.svg',
    )
    if (redocBundle.includes('https://cdn.')) throw new Error('the Redoc bundle still refers to a CDN')
    const favicon = readFileSync(new URL('../content/favicon.svg', import.meta.url))
    for (const url of ['/favicon.ico', '/favicon.svg']) {
      app.get(
        url,
        { schema: { hide: true } },
        async (_request, reply) =>
          await reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(favicon),
      )
    }
    app.get(
      '/redoc',
      { schema: { hide: true } },
      async (_request, reply) => await reply.type('text/html; charset=utf-8').send(REDOC_PAGE),
    )
    app.get(
      '/redoc/redoc.standalone.js',
      { schema: { hide: true } },
      async (_request, reply) =>
        await reply
          .type('application/javascript; charset=utf-8')
          .header('cache-control', 'public, max-age=86400')
          .send(redocBundle),
    )
  },
  { name: 'pool-docs' },
)
