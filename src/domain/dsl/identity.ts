// Program identity, as the miners' software fingerprints a program (BitSota `AlgorithmArray.fingerprint`):
// the task's input dimension, the register file and every instruction field, phase by phase. Instruction
// slots (the op caps) and spelling are not part of it.

import { createHash } from 'node:crypto'
import { OPCODES, PHASES, type DslProgram, type Instruction } from './program.ts'

/** Phases in the order their fingerprint walks them (sorted by name). */
const FINGERPRINT_PHASES = [...PHASES].sort()

/**
 * The bytes their fingerprint hashes (with SHA-1): input_dim int32, scalar/vector/matrix counts int16,
 * vector_dim int32, then per phase its name in UTF-8 and the op codes (int8), first operands, second
 * operands, destinations (int16 each) and both constants (float32 each), little-endian throughout.
 */
export function identityBytes(program: DslProgram): Buffer {
  const { meta } = program
  const parts: Buffer[] = [
    int32(program.input_dim),
    int16(meta.scalar_count),
    int16(meta.vector_count),
    int16(meta.matrix_count),
    int32(meta.vector_dim),
  ]
  for (const phase of FINGERPRINT_PHASES) {
    const body = program[phase]
    parts.push(Buffer.from(phase, 'utf8'))
    parts.push(column(body, 1, (b, i, x) => b.writeInt8(OPCODES[x.op], i)))
    for (const field of ['in1', 'in2', 'out'] as const)
      parts.push(column(body, 2, (b, i, x) => b.writeInt16LE(x[field], i)))
    for (const field of ['const1', 'const2'] as const)
      parts.push(column(body, 4, (b, i, x) => b.writeFloatLE(x[field], i)))
  }
  return Buffer.concat(parts)
}

/**
 * `algorithm_hash`: SHA-256 (lowercase hex) of the identity bytes. Two texts get the same hash exactly
 * when the miners' fingerprint of their readings is the same (the SHA-1 of the same bytes).
 */
export function programHash(program: DslProgram): string {
  return createHash('sha256').update(identityBytes(program)).digest('hex')
}

function column(
  body: readonly Instruction[],
  width: number,
  write: (buffer: Buffer, offset: number, x: Instruction) => void,
): Buffer {
  const buffer = Buffer.alloc(body.length * width)
  body.forEach((instruction, i) => {
    write(buffer, i * width, instruction)
  })
  return buffer
}

function int16(value: number): Buffer {
  const buffer = Buffer.alloc(2)
  buffer.writeInt16LE(value)
  return buffer
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeInt32LE(value)
  return buffer
}
