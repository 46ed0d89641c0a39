/**
 * The Pool API as one Fastify application: body parsing, validation, errors, docs, auth and routes.
 * `buildApp` is what the server listens with and what tests drive through `inject()`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import helmet from '@fastify/helmet'
import { PoolError } from './errors.ts'
import { ErrorResponse } from './schemas/common.ts'
import { AlgorithmRecord } from './schemas/work.ts'
import { clientErrorHandler, frameworkErrorHandler, installErrorHandling } from './http/error-handler.ts'
import { parseJsonBody } from './http/json-body.ts'
import { RateLimiter } from './http/rate-limit.ts'
import { validatorCompiler } from './http/validation.ts'
import authPlugin from './plugins/auth.ts'
import dashboardPlugin from './plugins/dashboard.ts'
import docsPlugin from './plugins/docs.ts'
import metricsPlugin from './plugins/metrics.ts'
import claimRoutes from './routes/claims.ts'
import healthRoutes from './routes/health.ts'
import disclaimerRoutes from './routes/disclaimer.ts'
import minerRoutes, { registerRecipientUpdate } from './routes/api/v1/miners.ts'
import monitorRoutes from './routes/api/v1/monitor.ts'
import resultRoutes from './routes/api/v1/results.ts'
import sotaHistoryRoutes from './routes/api/v1/sota-history.ts'
import taskRoutes from './routes/api/v1/tasks.ts'
import type { PoolContext } from './services/context.ts'
import { registerPoolGauges } from './services/pool-gauges.ts'

declare module 'fastify' {
  interface FastifyInstance {
    pool: PoolContext
  }
}

export interface AppOptions {
  /** The process logger; without one the app logs nothing (tests). */
  logger?: FastifyBaseLogger
}

const UNLIMITED_PATHS = /^\/(health|status|docs|redoc|openapi\.json)(\/|\?|$)/

/** Shared by the Pool API and the standalone claim server: parsing, validation, errors. */
export function createFastify(pool: PoolContext, options: AppOptions = {}): FastifyInstance {
  const app = Fastify({
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    // Fastify logs two info lines per request; one line at REQUEST_LOG_LEVEL replaces them (below).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: pool.config.maxBodyBytes,
    trustProxy: pool.config.trustProxy,
    return503OnClosing: true,
    // Generous: on a starved CPU, loading the docs and the WebAssembly can exceed Fastify's 10 s default.
    pluginTimeout: 60_000,
    ajv: { customOptions: { strict: false } },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.decorate('pool', pool)
  if (options.logger !== undefined && pool.config.requestLogLevel !== 'silent') {
    const level = pool.config.requestLogLevel
    app.addHook('onResponse', (request, reply, done) => {
      request.log[level](
        {
          method: request.method,
          url: request.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request',
      )
      done()
    })
  }
  app.setValidatorCompiler(validatorCompiler)
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
  // Clients post `{}`-like bodies without one; an absent body reads as an empty object.
  app.addHook('preValidation', (request, _reply, done) => {
    if (
      (request.method === 'POST' || request.method === 'PUT') &&
      (request.body === undefined || request.body === null)
    ) {
      request.body = {}
    }
    done()
  })
  // Text with a NUL character cannot be stored in PostgreSQL and names nothing here: refuse it up front,
  // in the URL and in JSON strings (`\u0000`), instead of letting it reach a query.
  app.addHook('onRequest', (request, _reply, done) => {
    done(
      request.url.includes('%00')
        ? new PoolError('POOL_ERR_BAD_REQUEST', 'Bad request: NUL characters are not allowed in URLs')
        : undefined,
    )
  })
  // Per-IP limit before any parsing or signature work, so a flood costs little; probes are exempt.
  const perIp = new RateLimiter(pool.config.rateLimitIpPerMinute, () => pool.clock.now())
  if (perIp.enabled) {
    app.addHook('onRequest', (request, _reply, done) => {
      const wait = UNLIMITED_PATHS.test(request.url) ? undefined : perIp.take(request.ip)
      done(
        wait === undefined
          ? undefined
          : new PoolError('POOL_ERR_RATE_LIMITED', `Too many requests from this address; retry after ${wait} s`, {
              'retry-after': String(wait),
            }),
      )
    })
  }
  // Security headers only where a route asks for them (the HTML pages, see http/security-headers.ts).
  void app.register(helmet, { global: false })
  app.addSchema(ErrorResponse)
  app.addSchema(AlgorithmRecord)
  installErrorHandling(app)
  return app as unknown as FastifyInstance
}

export async function buildApp(pool: PoolContext, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = createFastify(pool, options)
  await app.register(docsPlugin)
  registerPoolGauges(pool)
  await app.register(metricsPlugin, {
    metrics: pool.metrics,
    token: pool.config.metricsToken,
    production: pool.config.environment === 'production',
  })
  await app.register(authPlugin, { pool })
  await app.register(healthRoutes)
  await app.register(disclaimerRoutes)
  await app.register(minerRoutes, { prefix: '/api/v1/miners' })
  await app.register(taskRoutes, { prefix: '/api/v1/tasks' })
  await app.register(resultRoutes, { prefix: '/api/v1/results' })
  await app.register(monitorRoutes, { prefix: '/api/v1/monitor' })
  await app.register(sotaHistoryRoutes, { prefix: '/api/v1/results' })
  await app.register(dashboardPlugin)
  await app.register(async (root) => {
    registerRecipientUpdate(
      root,
      'POST',
      '/coldkey_address/update',
      'Set the payout recipient coldkey (root compatibility route)',
    )
  })
  if (pool.config.merkleClaimEnabled) {
    await app.register(claimRoutes, {
      prefix: pool.config.merkleClaimPathPrefix,
      simulation: pool.config.merkleClaimSimulationEnabled,
    })
  }
  await app.ready()
  return app
}

/** The standalone claim server: the same claim plugin with no prefix, plus its API docs. */
export async function buildClaimApp(pool: PoolContext, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = createFastify(pool, options)
  await app.register(docsPlugin)
  await app.register(claimRoutes, { simulation: pool.config.merkleClaimSimulationEnabled })
  await app.ready()
  return app
}
