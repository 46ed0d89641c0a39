// The task type a request names: the default when none, and a 422 on the body's or query's `task_type`
// for one the pool does not serve, with the refusal texts clients see.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { requestedTaskType, taskTypeRefusal } from '../../src/domain/task-types.ts'
import { PoolError } from '../../src/errors.ts'
import { resolveTaskType } from '../../src/http/task-type.ts'

const SERVED = ['cifar10_binary', 'mnist_binary']

describe('task types of requests', () => {
  test('the named one when served, the first served when none is named', () => {
    assert.equal(requestedTaskType(SERVED, undefined), 'cifar10_binary')
    assert.equal(requestedTaskType(SERVED, 'mnist_binary'), 'mnist_binary')
    assert.equal(taskTypeRefusal(SERVED, 'mnist_binary', true), undefined)
    assert.equal(resolveTaskType(SERVED, undefined, 'query'), 'cifar10_binary')
    assert.equal(resolveTaskType(SERVED, 'mnist_binary', 'body'), 'mnist_binary')
  })

  test('one not served is a 422 on its field; a body refusal lists what the pool serves', () => {
    const refusal = (source: 'body' | 'query') => {
      try {
        resolveTaskType(SERVED, 'imagenet', source)
      } catch (err) {
        assert.ok(err instanceof PoolError)
        return { status: err.statusCode, code: err.code, detail: err.detail }
      }
      assert.fail('accepted a task type the pool does not serve')
    }
    assert.deepEqual(refusal('body'), {
      status: 422,
      code: 'POOL_ERR_VALIDATION',
      detail: [
        {
          loc: ['body', 'task_type'],
          msg: 'unknown task type "imagenet"; this pool serves: cifar10_binary, mnist_binary',
          type: 'value_error',
        },
      ],
    })
    assert.deepEqual(refusal('query'), {
      status: 422,
      code: 'POOL_ERR_VALIDATION',
      detail: [{ loc: ['query', 'task_type'], msg: 'unknown task type "imagenet"', type: 'value_error' }],
    })
  })
})
