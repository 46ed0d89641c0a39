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

/** `format` with each `{name}` replaced by `values[name]`. */
function fill(format: string, values: Record<string, number | string>): string {
  return format.replace(/\{([^{}]+)\}/g, (_, name: string) => String(values[name]))
}

export const walletMessage = (timestamp: number | string): string => fill(WALLET_MESSAGE, { 'X-Timestamp': timestamp })

/** The recipient is bound trimmed. */
export const recipientMessage = (timestamp: number | string, recipient: string): string =>
  fill(RECIPIENT_MESSAGE, { 'X-Timestamp': timestamp, recipient_coldkey: recipient.trim() })

/** `message` wrapped as browser wallet extensions sign it. */
export const bytesWrapped = (message: string): string => `<Bytes>${message}</Bytes>`

/** Every text a signature over `message` may cover: the message itself, then its wrapped form. */
export const signedForms = (message: string): string[] => [message, bytesWrapped(message)]
