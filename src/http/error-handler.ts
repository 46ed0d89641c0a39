/**
 * The one error handler: every failure leaves as `{"detail", "code"}` with its status. Client errors say
 * what was wrong; anything unexpected is logged and answered with a 500 that reveals nothing.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_TABLE, PoolError, type ErrorCode } from '../errors.ts'
import { toValidationItems } from './validation.ts'

const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'POOL_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'POOL_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'POOL_ERR_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'POOL_ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'POOL_ERR_MALFORMED_JSON',
}

export function toPoolError(err: FastifyError | PoolError | Error): PoolError {
  if (err instanceof PoolError) return err
  const e = err as FastifyError
  if (Array.isArray(e.validation)) {
    return new PoolError('POOL_ERR_VALIDATION', toValidationItems(e.validation, e.validationContext ?? 'body'))
  }
  const mapped = e.code === undefined ? undefined : FRAMEWORK_CODES[e.code]
  if (mapped !== undefined)
    return new PoolError(mapped, mapped === 'POOL_ERR_MALFORMED_JSON' ? `Malformed JSON body: ${e.message}` : undefined)
  if (e.statusCode === 429) return new PoolError('POOL_ERR_RATE_LIMITED', e.message)
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new PoolError('POOL_ERR_BAD_REQUEST', e.message)
  }
  if (e.statusCode === 503) return new PoolError('POOL_ERR_UNAVAILABLE')
  return new PoolError('POOL_ERR_INTERNAL')
}

export function sendError(reply: FastifyReply, error: PoolError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value)
  return reply
    .code(error.statusCode)
    .type('application/json; charset=utf-8')
    .send({ detail: error.detail, code: error.code })
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const error = toPoolError(err)
    if (error.code === 'POOL_ERR_INTERNAL') request.log.error({ err }, 'unhandled error')
    else if (error.code === 'POOL_ERR_RATE_LIMITED' && reply.getHeader('retry-after') === undefined)
      void reply.header('retry-after', '60')
    return sendError(reply, error)
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new PoolError('POOL_ERR_NOT_FOUND', `Not Found: ${request.method} ${request.url.split('?')[0] ?? ''}`),
    ),
  )
}

/**
 * The router answers two failures itself, before any hook or handler, in Fastify's own body shape:
 * a path that is not valid percent-encoding (FST_ERR_BAD_URL) and a path parameter over maxParamLength
 * (FST_ERR_MAX_PARAM_LENGTH). Passed to Fastify as `frameworkErrors` so they leave as `{detail, code}` too.
 */
export function frameworkErrorHandler(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const error =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new PoolError('POOL_ERR_VALIDATION', [
          { loc: ['path'], msg: 'a path parameter is longer than 200 characters', type: 'value_error.max_length' },
        ])
      : err.code === 'FST_ERR_BAD_URL'
        ? new PoolError('POOL_ERR_BAD_REQUEST', 'Bad request: the URL path is not valid percent-encoded UTF-8')
        : toPoolError(err)
  void sendError(reply, error)
}

/**
 * Requests Node's HTTP parser refuses (broken framing, oversized headers, a timeout) never reach Fastify's
 * routing; they are answered here on the socket, in the same `{detail, code}` shape as everything else.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new PoolError('POOL_ERR_HEADERS_TOO_LARGE')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new PoolError('POOL_ERR_REQUEST_TIMEOUT')
        : new PoolError('POOL_ERR_BAD_REQUEST', 'Bad request: the HTTP request could not be parsed')
  const body = JSON.stringify({ detail: error.detail, code: error.code })
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}

export const errorCodeTable = (): Array<{ code: string; status: number; message: string; description: string }> =>
  Object.entries(ERROR_TABLE).map(([code, d]) => ({ code, ...d }))
