/** Schemas of results that the results service speaks in too: the query of verified results. */
import { Type, type Static } from 'typebox'

export const ResultsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  task_type: Type.Optional(Type.String({ maxLength: 64 })),
  min_score: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
})
export type ResultsQuery = Static<typeof ResultsQuery>
