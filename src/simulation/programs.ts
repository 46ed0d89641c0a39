/** Valid programs in the miners' DSL for simulated miners and tests. */

/**
 * A valid evolved program (a variant of the `linear_sgd` seed) that differs from every other `k` in its
 * canonical form: the learning rate and bias are derived from k.
 */
export function evolvedProgram(k: number): string {
  const rate = (k + 1) / 100_000
  return [
    '# meta: scalar_count=8 vector_count=4 matrix_count=1 vector_dim=16',
    '# setup:',
    `s2 = ${rate}`,
    'v1 = 0',
    '# predict:',
    's3 = dot(v1, v0)',
    's0 = s3 + s4',
    '# learn:',
    's5 = s1 - s0',
    's6 = s5 * s2',
    'v2 = v0 * s6',
    'v1 = v1 + v2',
    's4 = s4 + s6',
    '',
  ].join('\n')
}
