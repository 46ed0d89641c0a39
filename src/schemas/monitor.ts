/** Schemas of the monitor summary that services build too: the credit waiting for a recipient. */
import { Type, type Static } from 'typebox'
import { Units } from './common.ts'

export const AwaitingRecipient = Type.Object(
  {
    miners: Type.Integer(),
    units: Units,
    hotkeys: Type.Array(Type.Object({ hotkey: Type.String(), credited_units: Units }), {
      description: 'The first 20, by hotkey.',
    }),
  },
  {
    description:
      'Credited, waiting for a recipient: cumulative credit of hotkeys with no leaf in the epoch because they have no recipient coldkey.',
  },
)
/** `miners`: hotkeys credited through the epoch that got no leaf in it (no recipient at close). */
export type AwaitingRecipient = Static<typeof AwaitingRecipient>
