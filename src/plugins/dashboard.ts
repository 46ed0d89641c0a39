/**
 * The operator dashboard at `/dashboard`: static Preact + htm + uPlot files with no build step, reading
 * only the public JSON API. The browser modules come from node_modules (no CDN) under
 * `/dashboard/vendor/`; index.html gets the claim app prefix and the task types injected, since no public
 * route tells where the claim app is mounted. The SOTA history route the chart reads is an ordinary API
 * route, registered by the app.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'
import { inlineScriptHashes, pageSecurityHeaders } from '../http/security-headers.ts'

const require = createRequire(import.meta.url)
const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url))

/** Browser modules by the name the page's import map gives them. */
const VENDOR: Record<string, { file: string; type: string }> = {
  'preact.mjs': { file: require.resolve('preact'), type: 'text/javascript' },
  'preact-hooks.mjs': { file: require.resolve('preact/hooks'), type: 'text/javascript' },
  // htm's package exports only its CommonJS build to require(); the ES module sits next to it.
  'htm.mjs': { file: join(dirname(require.resolve('htm')), 'htm.module.js'), type: 'text/javascript' },
  'uplot.mjs': { file: require.resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript' },
  'uplot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
}

const CONFIG_PLACEHOLDER = '<!-- sotapool:config -->'

/** What the page cannot learn from the public API, as an inline script (`<` escaped so it cannot close the tag). */
export function dashboardConfigScript(config: { claimsPrefix: string | null; taskTypes: readonly string[] }): string {
  return `<script>window.SOTAPOOL = ${JSON.stringify(config).replace(/</g, '\\u003c')}</script>`
}

const dashboard: FastifyPluginAsync = async (app) => {
  const { config } = app.pool

  const template = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8')
  if (!template.includes(CONFIG_PLACEHOLDER)) throw new Error(`dashboard index.html lacks ${CONFIG_PLACEHOLDER}`)
  const page = template.replace(
    CONFIG_PLACEHOLDER,
    dashboardConfigScript({
      claimsPrefix: config.merkleClaimEnabled ? config.merkleClaimPathPrefix : null,
      taskTypes: config.taskTypes,
    }),
  )
  // Scripts: the page's own files, the vendor modules and its two inline scripts (the config and the
  // import map) by hash; charts and the proof check run in the page, reading only this origin.
  const headers = pageSecurityHeaders({
    'script-src': ["'self'", ...inlineScriptHashes(page)],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
  })
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/dashboard')) route.config = { ...route.config, helmet: headers } as typeof route.config
  })

  for (const url of ['/dashboard', '/dashboard/', '/dashboard/index.html']) {
    app.get(
      url,
      { schema: { hide: true } },
      async (_request, reply) =>
        await reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page),
    )
  }

  for (const [name, { file, type }] of Object.entries(VENDOR)) {
    const body = readFileSync(file)
    app.get(
      `/dashboard/vendor/${name}`,
      { schema: { hide: true } },
      async (_request, reply) =>
        await reply.type(`${type}; charset=utf-8`).header('cache-control', 'public, max-age=3600').send(body),
    )
  }

  // The page's own scripts and styles; type declarations kept for the tests are not served.
  await app.register(fastifyStatic, {
    root: DASHBOARD_DIR,
    prefix: '/dashboard/',
    decorateReply: false,
    index: false,
    allowedPath: (path) => /^\/[\w-]+\.(js|css)$/.test(path),
  })
}

export default dashboard
