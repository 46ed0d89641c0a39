/**
 * The payout recipient a recipient-update body names. The signed message binds it (plugins/auth.ts) and
 * the route stores it (routes/api/v1/miners.ts), so both read it here, by the same rule.
 */

/** The recipient a recipient-update body names (trimmed), under its current or legacy field name. */
export function recipientFromBody(body: unknown): string | undefined {
  const b = (body ?? {}) as Record<string, unknown>
  const value = b.recipient_coldkey ?? b.coldkey_address
  return typeof value === 'string' ? value.trim() : undefined
}
