/**
 * HTTP caching of answers a URL names for good, or revalidates cheaply: a strong ETag and a Cache-Control
 * on every answer, and 304 (no body) when the request's If-None-Match names the ETag. Closed epochs never
 * change, so their artifact and their proofs use it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'

/** Content a URL names for good (a closed epoch named by its id). */
export const IMMUTABLE = 'public, max-age=31536000, immutable'
/** Content whose URL may name something else later (the default epoch): store, but revalidate each time. */
export const REVALIDATE = 'no-cache'

/** Sets the ETag and Cache-Control headers; true when If-None-Match names this ETag (answer 304). */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string, cacheControl: string): boolean {
  void reply.header('etag', etag).header('cache-control', cacheControl)
  const match = request.headers['if-none-match']
  return match?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag) ?? false
}
