/**
 * The messages a miner signs (SPEC §2), for the pool that checks them and the tools that sign them:
 * `auth:{X-Timestamp}` on every signed request, `recipient_coldkey:update:{X-Timestamp}:{recipient_coldkey}`
 * on a recipient update. A signature may cover the message itself or the message wrapped in
 * `<Bytes>…</Bytes>`, the way browser wallet extensions wrap what they sign.
 */

/** The message of every signed request, as refusals and the API documentation name it. */
export const WALLET_MESSAGE = 'auth:{X-Timestamp}'
/** The message of a recipient update, as refusals and the API documentation name it. */
export const RECIPIENT_MESSAGE = 'recipient_coldkey:update:{X-Timestamp}:{recipient_coldkey}'

/** The message of a signed request at `timestamp` (WALLET_MESSAGE filled in). */
export const walletMessage = (timestamp: number | string): string => `auth:${timestamp}`

/** The message of a recipient update (RECIPIENT_MESSAGE filled in); the recipient is bound trimmed. */
export const recipientMessage = (timestamp: number | string, recipient: string): string =>
  `recipient_coldkey:update:${timestamp}:${recipient.trim()}`

/** `message` wrapped as browser wallet extensions sign it. */
export const bytesWrapped = (message: string): string => `<Bytes>${message}</Bytes>`

/** Every text a signature over `message` may cover: the message itself, then its wrapped form. */
export const signedForms = (message: string): string[] => [message, bytesWrapped(message)]
