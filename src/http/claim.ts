/**
 * Claim problems as 422 answers. The claim service says which field of a claim does not parse (the hotkey,
 * the recipient, the amount or a proof element); this names its place in the claim body, the `loc`
 * clients parse.
 */
import { validationError } from '../errors.ts'
import { ClaimProblem, type ClaimSubject } from '../services/claims.ts'

/** Where in the claim body the subject of a claim problem is. */
export function claimLoc(subject: ClaimSubject): Array<string | number> {
  switch (subject.field) {
    case 'hotkey':
      return ['body', 'hotkey']
    case 'recipient':
      return ['body', 'recipient_coldkey']
    case 'amount':
      return ['body', 'amount_units']
    case 'proof':
      return ['body', 'proof', subject.element]
  }
}

/** Runs a claim, answering a problem the service reports as a 422 that points into the claim body. */
export async function claiming<T>(claim: () => Promise<T>): Promise<T> {
  try {
    return await claim()
  } catch (err) {
    if (err instanceof ClaimProblem) throw validationError(claimLoc(err.subject), err.message)
    throw err
  }
}
