/** Schemas of miner answers that the miners service returns as they are: registration and recipients. */
import { Type, type Static } from 'typebox'
import { IsoTime, Nullable } from './common.ts'

export const RegisterResponse = Type.Object({
  status: Type.Union([Type.Literal('registered'), Type.Literal('refreshed')]),
  hotkey: Type.String(),
  reputation: Type.Number(),
  created_at: Nullable(IsoTime),
  last_seen: Nullable(IsoTime),
})
export type RegisterResponse = Static<typeof RegisterResponse>
/** A miner's record: the registration answer without its status. */
export type MinerRecord = Omit<RegisterResponse, 'status'>

export const RecipientUpdateResponse = Type.Object({
  status: Type.Literal('success'),
  miner_hotkey: Type.String(),
  recipient_coldkey: Type.String(),
  coldkey_address: Type.String(),
  updated_at: Nullable(IsoTime),
})
export type RecipientUpdateResponse = Static<typeof RecipientUpdateResponse>

export const RecipientResponse = Type.Object({
  miner_hotkey: Type.String(),
  recipient_coldkey: Nullable(Type.String()),
  updated_at: Nullable(IsoTime),
})
export type RecipientResponse = Static<typeof RecipientResponse>
