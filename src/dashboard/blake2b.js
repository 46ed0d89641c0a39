// BLAKE2b (RFC 7693), unkeyed, one-shot. 64-bit words are kept as (low, high) pairs of 32-bit numbers so
// it needs no BigInt and no WebAssembly: the dashboard cannot load the server's wasm hasher.

const IV = [
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a, 0xade682d1,
  0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]

// Message word schedule of the 12 rounds (rounds 10 and 11 repeat rounds 0 and 1).
const SIGMA = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3, 11, 8, 12,
  0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4, 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8, 9, 0, 5, 7, 2, 4, 10,
  15, 14, 1, 11, 12, 6, 8, 3, 13, 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9, 12, 5, 1, 15, 14, 13, 4, 10, 0,
  7, 6, 3, 9, 2, 8, 11, 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10, 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7,
  1, 4, 10, 5, 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
  15, 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
]

const v = new Uint32Array(32) // working vector: word i is v[2i] (low), v[2i + 1] (high)
const m = new Uint32Array(32) // message block, same layout

// v[a] += v[b]
function add(a, b) {
  const lo = v[a] + v[b]
  v[a + 1] = v[a + 1] + v[b + 1] + (lo > 0xffffffff ? 1 : 0)
  v[a] = lo
}

// v[a] += m[i]
function addMessage(a, i) {
  const lo = v[a] + m[i]
  v[a + 1] = v[a + 1] + m[i + 1] + (lo > 0xffffffff ? 1 : 0)
  v[a] = lo
}

// v[a] = rotr64(v[a] ^ v[b], n) for n in {16, 24, 32, 63}
function xorRotate(a, b, n) {
  const lo = v[a] ^ v[b]
  const hi = v[a + 1] ^ v[b + 1]
  if (n === 32) {
    v[a] = hi
    v[a + 1] = lo
  } else if (n === 63) {
    // rotr 63 = rotl 1
    v[a] = (lo << 1) | (hi >>> 31)
    v[a + 1] = (hi << 1) | (lo >>> 31)
  } else {
    v[a] = (lo >>> n) | (hi << (32 - n))
    v[a + 1] = (hi >>> n) | (lo << (32 - n))
  }
}

// The mixing function G on words a, b, c, d with message words x, y (all as indexes into v and m).
function mix(a, b, c, d, x, y) {
  add(a, b)
  addMessage(a, x)
  xorRotate(d, a, 32)
  add(c, d)
  xorRotate(b, c, 24)
  add(a, b)
  addMessage(a, y)
  xorRotate(d, a, 16)
  add(c, d)
  xorRotate(b, c, 63)
}

function compress(h, block, offset, bytesSoFar, last) {
  for (let i = 0; i < 16; i++) {
    v[i] = h[i]
    v[i + 16] = IV[i]
  }
  v[24] ^= bytesSoFar >>> 0 // the counter t: bytes hashed so far, low 64 bits (inputs stay below 2^53)
  v[25] ^= Math.floor(bytesSoFar / 0x100000000)
  if (last) {
    v[28] = ~v[28]
    v[29] = ~v[29]
  }
  for (let i = 0; i < 32; i++) {
    const p = offset + 4 * i
    m[i] = (block[p] | (block[p + 1] << 8) | (block[p + 2] << 16) | (block[p + 3] << 24)) >>> 0
  }
  for (let r = 0; r < 12; r++) {
    const s = r * 16
    mix(0, 8, 16, 24, SIGMA[s] * 2, SIGMA[s + 1] * 2)
    mix(2, 10, 18, 26, SIGMA[s + 2] * 2, SIGMA[s + 3] * 2)
    mix(4, 12, 20, 28, SIGMA[s + 4] * 2, SIGMA[s + 5] * 2)
    mix(6, 14, 22, 30, SIGMA[s + 6] * 2, SIGMA[s + 7] * 2)
    mix(0, 10, 20, 30, SIGMA[s + 8] * 2, SIGMA[s + 9] * 2)
    mix(2, 12, 22, 24, SIGMA[s + 10] * 2, SIGMA[s + 11] * 2)
    mix(4, 14, 16, 26, SIGMA[s + 12] * 2, SIGMA[s + 13] * 2)
    mix(6, 8, 18, 28, SIGMA[s + 14] * 2, SIGMA[s + 15] * 2)
  }
  for (let i = 0; i < 16; i++) h[i] ^= v[i] ^ v[i + 16]
}

/** BLAKE2b of `input` (a Uint8Array) with an `outlen`-byte digest (1..64; 32 for BLAKE2b-256). */
export function blake2b(input, outlen = 32) {
  if (!(input instanceof Uint8Array)) throw new TypeError('blake2b: input must be a Uint8Array')
  if (!Number.isInteger(outlen) || outlen < 1 || outlen > 64) throw new RangeError('blake2b: outlen must be 1..64')
  const h = new Uint32Array(IV)
  h[0] ^= 0x01010000 ^ outlen // parameter block: digest length, no key, fanout 1, depth 1
  const blocks = Math.max(1, Math.ceil(input.length / 128))
  for (let b = 0; b < blocks - 1; b++) compress(h, input, b * 128, (b + 1) * 128, false)
  // The last block (the only one for empty input) is zero-padded and flagged.
  const tail = new Uint8Array(128)
  tail.set(input.subarray((blocks - 1) * 128))
  compress(h, tail, 0, input.length, true)
  const out = new Uint8Array(outlen)
  for (let i = 0; i < outlen; i++) out[i] = h[i >> 2] >>> (8 * (i & 3))
  return out
}
