import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isDecimalLiteral, pythonRepr, toFloat32 } from '../../../src/domain/dsl/numbers.ts'

describe("numbers as the miners' software reads and writes them", () => {
  it('reads decimal literals of their grammar, ASCII digits only', () => {
    for (const text of ['1', '-1', '+1.5', '1.', '.5', '-.5e-3', '2E+8', '007', '1e0'])
      assert.ok(isDecimalLiteral(text), text)
    for (const text of [
      '',
      '.',
      '-',
      '1e',
      '1e+',
      'e5',
      '1.5.2',
      '1_0',
      '0x10',
      'inf',
      'nan',
      '٣',
      '1 ',
      ' 1',
      '--1',
      '1-',
    ]) {
      assert.ok(!isDecimalLiteral(text), text)
    }
  })

  it('stores constants as float32 and refuses those that overflow it', () => {
    assert.equal(toFloat32('0.1'), 0.10000000149011612)
    assert.equal(toFloat32('0.10000000149011612'), toFloat32('0.1'))
    assert.equal(toFloat32('16777217'), 16777216)
    assert.equal(toFloat32('3.4028235e38'), 3.4028234663852886e38)
    assert.ok(Object.is(toFloat32('-0.0'), -0))
    assert.equal(toFloat32('1e-50'), 0)
    assert.equal(toFloat32('3.5e38'), undefined)
    assert.equal(toFloat32('1e999'), undefined)
  })

  it("writes Python's repr: shortest digits, positional from 1e-4 to below 1e16", () => {
    // Expected values printed by Python for repr(float(numpy.float32(x))) and repr(x).
    const cases: Array<[number, string]> = [
      [0.10000000149011612, '0.10000000149011612'],
      [0.009999999776482582, '0.009999999776482582'],
      [1, '1.0'],
      [-2, '-2.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [1e-4, '0.0001'],
      [9.999999747378752e-5, '9.999999747378752e-05'],
      [1e-5, '1e-05'],
      [9.999999747378752e-6, '9.999999747378752e-06'],
      [1.500000053056283e-7, '1.500000053056283e-07'],
      [123456.7890625, '123456.7890625'],
      [999999986991104, '999999986991104.0'],
      [1e15, '1000000000000000.0'],
      [1e16, '1e+16'],
      [1.0000000272564224e16, '1.0000000272564224e+16'],
      [3.4028234663852886e38, '3.4028234663852886e+38'],
      [1.401298464324817e-45, '1.401298464324817e-45'],
      [-883204864, '-883204864.0'],
      [0.0001234499941347167, '0.0001234499941347167'],
    ]
    for (const [value, text] of cases) assert.equal(pythonRepr(value), text, String(value))
  })

  it('what it writes reads back as the same float32', () => {
    const view = new DataView(new ArrayBuffer(4))
    for (let i = 0; i < 20000; i++) {
      view.setUint32(0, Math.floor(Math.random() * 2 ** 32))
      const value = view.getFloat32(0)
      if (!Number.isFinite(value)) continue
      assert.ok(Object.is(toFloat32(pythonRepr(value)), value), `${value}`)
    }
  })
})
