// Submission problems the work service reports in its own terms, answered with the `loc` of each
// submit route's request body.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PoolError } from '../../src/errors.ts'
import { submissionLoc, submitting } from '../../src/http/submission.ts'
import { SubmissionProblem, type SubmissionSubject } from '../../src/services/work.ts'

describe('submission problems', () => {
  test('each subject points into the lease body and into the batch bodies', () => {
    const cases: Array<[SubmissionSubject, Array<string | number>, Array<string | number>]> = [
      [{ part: 'iterations' }, ['body', 'iterations'], ['body', 'iterations']],
      [{ part: 'evolutions' }, ['body', 'evolutions'], ['body', 'evolutions']],
      [
        { part: 'evaluations', item: 2, field: 'algorithm_id' },
        ['body', 'evaluations', 2, 'algorithm_id'],
        ['body', 'evaluations', 2, 'algorithm_id'],
      ],
      [
        { part: 'evolutions', item: 1, field: 'program' },
        ['body', 'evolutions', 1, 'algorithm_dsl'],
        ['body', 'evolved_function'],
      ],
      [
        { part: 'evolutions', item: 0, field: 'parents' },
        ['body', 'evolutions', 0, 'parent_algorithm_ids'],
        ['body', 'parent_functions'],
      ],
    ]
    for (const [subject, lease, batch] of cases) {
      assert.deepEqual(submissionLoc(subject, 'lease'), lease, JSON.stringify(subject))
      assert.deepEqual(submissionLoc(subject, 'batch'), batch, JSON.stringify(subject))
    }
  })

  test('a problem becomes a 422 with its code, message and type; other errors pass through', async () => {
    const problem = new SubmissionProblem(
      { part: 'evolutions', item: 0, field: 'program' },
      'invalid algorithm: line 1: unknown opcode',
      'POOL_ERR_INVALID_DSL',
      'value_error.dsl',
    )
    await assert.rejects(
      submitting('lease', async () => {
        throw problem
      }),
      (err: unknown) => {
        assert.ok(err instanceof PoolError)
        assert.equal(err.statusCode, 422)
        assert.equal(err.code, 'POOL_ERR_INVALID_DSL')
        assert.deepEqual(err.detail, [
          {
            loc: ['body', 'evolutions', 0, 'algorithm_dsl'],
            msg: 'invalid algorithm: line 1: unknown opcode',
            type: 'value_error.dsl',
          },
        ])
        return true
      },
    )
    const other = new Error('database is gone')
    await assert.rejects(
      submitting('batch', async () => {
        throw other
      }),
      (err: unknown) => err === other,
    )
    assert.equal(await submitting('batch', async () => 7), 7)
  })
})
