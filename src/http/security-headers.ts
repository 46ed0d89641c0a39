/**
 * Security headers of the pool's HTML pages (dashboard, Swagger UI, Redoc), set by @fastify/helmet.
 * Every page gets a Content-Security-Policy naming exactly what it loads (everything from the pool
 * itself, no CDN), is never framed, sends no referrer and is never content-sniffed. JSON routes are
 * left alone: they are read by programs, not rendered.
 */
import { createHash } from 'node:crypto'
import type { FastifyHelmetOptions } from '@fastify/helmet'

type Directives = Record<string, string[]>

export function pageSecurityHeaders(directives: Directives): Omit<FastifyHelmetOptions, 'global'> {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'base-uri': ["'none'"],
        'object-src': ["'none'"],
        'frame-ancestors': ["'none'"],
        'form-action': ["'none'"],
        ...directives,
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // TLS is the operator's proxy's business; a pool on plain HTTP must not pin browsers to HTTPS.
    strictTransportSecurity: false,
  }
}

/** CSP source for an inline `<script>` whose text is `content`. */
export const scriptHash = (content: string): string =>
  `'sha256-${createHash('sha256').update(content, 'utf8').digest('base64')}'`

/** The hashes of every inline script of an HTML page (scripts with a src load from 'self'). */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => scriptHash(m[1] ?? ''))
}
