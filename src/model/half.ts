// IEEE 754 half precision (binary16) and bfloat16, as safetensors stores them
// under the dtypes F16 and BF16: widened to float32 when a file is read (every
// value of either is exactly a float32), and narrowed from float32, rounded to
// the nearest (ties to even), when a file is written in half precision to take
// half the space. Platform-neutral: no Float16Array (not in Node 20).

/** Bits of a half: 1 sign, 5 exponent (bias 15), 10 significand. */
const HALF_SIGNIFICAND_BITS = 10;
const HALF_EXPONENT_BIAS = 15;
/** The largest finite half, 65504; from halfway to the next step up (65520) a value rounds to infinity. */
export const HALF_MAX = 65504;

let table: Float32Array | null = null;

/** The float32 value of every half bit pattern, built once (256 KB) when the first half is read. */
function halfTable(): Float32Array {
  if (table !== null) return table;
  table = new Float32Array(1 << 16);
  for (let bits = 0; bits < 1 << 16; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> HALF_SIGNIFICAND_BITS) & 0x1f;
    const significand = bits & 0x3ff;
    let v: number;
    if (exponent === 0)
      v = significand * 2 ** -24; // zero and the subnormals: significand x 2^-14 / 2^10
    else if (exponent === 0x1f) v = significand === 0 ? Infinity : NaN;
    else v = (1 + significand / 1024) * 2 ** (exponent - HALF_EXPONENT_BIAS);
    table[bits] = sign * v;
  }
  return table;
}

/** The value of a half's 16 bits. */
export function halfToFloat(bits: number): number {
  return halfTable()[bits & 0xffff];
}

/** The value of a bfloat16's 16 bits: the top half of a float32's. */
export function bfloat16ToFloat(bits: number): number {
  scratchBits[0] = (bits & 0xffff) << 16;
  return scratchFloat[0];
}

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/**
 * The half nearest to `x` (first rounded to float32), ties to the even bit
 * pattern; beyond the largest half, infinity; NaN stays NaN. The arithmetic
 * is in float64, where every step below is exact.
 */
export function floatToHalf(x: number): number {
  scratchFloat[0] = x;
  const b = scratchBits[0];
  const sign = (b >>> 16) & 0x8000;
  const exponent = (b >>> 23) & 0xff;
  if (exponent === 0xff) return sign | ((b & 0x7fffff) === 0 ? 0x7c00 : 0x7e00);
  const a = Math.abs(scratchFloat[0]);
  if (a < 2 ** -14) {
    // Subnormal halves are whole multiples of 2^-24; 1024 of them is the smallest normal half, 0x0400.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let e = exponent - 127; // a >= 2^-14, so the float32 is normal: a = (1 + f) 2^e
  let significand = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (significand === 1024) {
    significand = 0;
    e++;
  }
  if (e + HALF_EXPONENT_BIAS >= 0x1f) return sign | 0x7c00;
  return sign | ((e + HALF_EXPONENT_BIAS) << HALF_SIGNIFICAND_BITS) | significand;
}

/** q rounded to a whole number, a tie to the even one. */
function roundHalfEven(q: number): number {
  const f = Math.floor(q);
  const d = q - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f + (f % 2);
}
