/**
 * Every error the pool can answer with, declared once: a stable code, an HTTP status and the default
 * `detail`. Clients read `detail` (FastAPI style); some match on exact messages, which are marked.
 * The README's error table and the OpenAPI description are generated from this list.
 */
import type { ValidationItem } from './schemas/common.ts'

export interface ErrorDefinition {
  status: number
  message: string
  description: string
}

const define = (status: number, message: string, description: string): ErrorDefinition => ({
  status,
  message,
  description,
})

export const ERROR_TABLE = {
  POOL_ERR_BAD_REQUEST: define(
    400,
    'Bad request',
    'The request is not well-formed HTTP (for example a wrong Content-Length).',
  ),
  POOL_ERR_MALFORMED_JSON: define(
    400,
    'Malformed JSON body',
    'The body is not JSON (the tokens -Infinity and NaN are accepted only as a score).',
  ),
  POOL_ERR_ACTIVE_ASSIGNMENT: define(
    400,
    'Miner already has active task',
    'A lease or batch was requested while the miner holds an active one. Exact message read by clients.',
  ),
  POOL_ERR_WINDOW_LEASE_USED: define(
    400,
    'Lease already issued for this window. Wait for next window.',
    'Enforced-window mode: one lease per miner per window. Exact message read by clients.',
  ),
  POOL_ERR_INVALID_PROOF: define(400, 'invalid proof', 'The claim does not fold to the epoch root.'),
  POOL_ERR_AUTH_MISSING_HEADER: define(
    401,
    'missing authentication header',
    'X-Key, X-Timestamp or X-Signature is missing.',
  ),
  POOL_ERR_AUTH_BAD_ADDRESS: define(401, 'invalid hotkey address', 'X-Key is not a valid SS58 address.'),
  POOL_ERR_AUTH_BAD_TIMESTAMP: define(401, 'invalid timestamp', 'X-Timestamp is not a decimal unix time in seconds.'),
  POOL_ERR_AUTH_STALE_TIMESTAMP: define(
    401,
    'timestamp outside the allowed skew',
    'X-Timestamp is too far from the server clock (AUTH_MAX_SKEW_S).',
  ),
  POOL_ERR_AUTH_BAD_SIGNATURE: define(
    401,
    'invalid signature',
    'X-Signature is malformed or does not verify for X-Key over the signed message.',
  ),
  POOL_ERR_AUTH_REPLAY: define(
    401,
    'signature already used',
    'The signature was already accepted for a state-changing request.',
  ),
  POOL_ERR_MONITOR_TOKEN: define(
    401,
    'invalid or missing monitor token',
    'X-Monitor-Token does not match MONITOR_TOKEN.',
  ),
  POOL_ERR_METRICS_TOKEN: define(
    401,
    'invalid or missing metrics token',
    '`Authorization: Bearer` does not match METRICS_TOKEN (or it is not set in production).',
  ),
  POOL_ERR_NOT_VERIFIER: define(
    403,
    'hotkey is not an allowed verifier',
    'Only hotkeys in VERIFIER_HOTKEYS may verify results.',
  ),
  POOL_ERR_MINER_BANNED: define(
    403,
    'hotkey is banned from this pool',
    'The operator banned this hotkey (`sotapool miner ban`); detail gives the reason. Credit earned before the ban stays claimable.',
  ),
  POOL_ERR_NOT_FOUND: define(404, 'Not Found', 'No such route.'),
  POOL_ERR_MINER_NOT_FOUND: define(404, 'miner not found', 'The hotkey is not registered.'),
  POOL_ERR_NO_WORK: define(404, 'No work available right now', 'Nothing to hand out; clients back off and retry.'),
  POOL_ERR_ASSIGNMENT_NOT_FOUND: define(
    404,
    'Active lease assignment not found',
    'The lease or batch expired, was already submitted, or belongs to another miner. Exact message read by clients.',
  ),
  POOL_ERR_RESULT_NOT_FOUND: define(404, 'result not found', 'No scored algorithm has that id.'),
  POOL_ERR_EPOCH_NOT_FOUND: define(404, 'epoch not found', 'The epoch is unknown or not closed yet.'),
  POOL_ERR_LEAF_NOT_FOUND: define(
    404,
    'no claim for this hotkey in the epoch',
    "The hotkey has no leaf in the epoch's claim tree.",
  ),
  POOL_ERR_ALREADY_CLAIMED: define(
    409,
    'already claimed',
    'The cumulative amount of this leaf has already been transferred.',
  ),
  POOL_ERR_EPOCH_NOT_CLAIMABLE: define(
    409,
    'epoch has no claim root',
    'The epoch closed without leaves (root of zeros).',
  ),
  POOL_ERR_REQUEST_TIMEOUT: define(408, 'Request timeout', 'The request did not arrive in time.'),
  POOL_ERR_BODY_TOO_LARGE: define(413, 'Request body is too large', 'The body exceeds MAX_BODY_BYTES.'),
  POOL_ERR_UNSUPPORTED_MEDIA_TYPE: define(415, 'Unsupported media type', 'Bodies must be application/json.'),
  POOL_ERR_VALIDATION: define(
    422,
    'Request validation failed',
    'Body, query or path failed validation; detail is a list of {loc, msg, type}.',
  ),
  POOL_ERR_INVALID_SUBMISSION: define(
    422,
    'invalid submission',
    'The submission names algorithms outside the assignment, too many evolutions, or too few iterations.',
  ),
  POOL_ERR_INVALID_DSL: define(
    422,
    'invalid algorithm',
    'An algorithm failed DSL validation; detail names the line and the reason.',
  ),
  POOL_ERR_HEADERS_TOO_LARGE: define(
    431,
    'Request header fields too large',
    'The request headers exceed what the server reads.',
  ),
  POOL_ERR_RATE_LIMITED: define(429, 'Too many requests', 'Rate limit reached; retry after Retry-After seconds.'),
  POOL_ERR_INTERNAL: define(
    500,
    'Internal server error',
    'Unexpected server failure; details are logged, never returned.',
  ),
  POOL_ERR_UNAVAILABLE: define(503, 'Service unavailable', 'The server is shutting down or overloaded.'),
  POOL_ERR_MAINTENANCE: define(
    503,
    'pool is in maintenance',
    'The operator turned maintenance mode on (`sotapool maintenance on`): signed writes wait, reads keep working; retry after Retry-After seconds.',
  ),
} as const satisfies Record<string, ErrorDefinition>

export type ErrorCode = keyof typeof ERROR_TABLE

export class PoolError extends Error {
  readonly statusCode: number
  readonly detail: string | ValidationItem[]

  constructor(
    readonly code: ErrorCode,
    detail?: string | ValidationItem[],
    readonly headers: Record<string, string> = {},
  ) {
    const definition = ERROR_TABLE[code]
    const resolved = detail ?? definition.message
    super(typeof resolved === 'string' ? resolved : definition.message)
    this.name = 'PoolError'
    this.statusCode = definition.status
    this.detail = resolved
  }
}

/** A 422 with one FastAPI-style item, for checks that only the service can make. */
export function validationError(
  loc: Array<string | number>,
  msg: string,
  code: ErrorCode = 'POOL_ERR_VALIDATION',
): PoolError {
  return new PoolError(code, [{ loc, msg, type: 'value_error' }])
}
