// Half precision: bit patterns checked against values worked out by hand, the
// float32-to-half rounding against a brute-force search for the nearest half,
// and F16/BF16 tensors in safetensors files and model files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { bfloat16ToFloat, floatToHalf, halfToFloat } from '../src/model/half.js';
import { decodeModel, encodeModel } from '../src/model/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { Random } from '../src/util/random.js';

/** A safetensors file made by hand: u64 little-endian header length, header text as given, then data. */
function handmade(header: string, data: number[]): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Every finite non-negative half, ascending, with its bits: 0x0000 .. 0x7bff are in order of value. */
const FINITE = Array.from({ length: 0x7c00 }, (_, bits) => ({ bits, value: halfToFloat(bits) }));

/** The nearest half to x (a float32 value) by search over every finite half; a tie goes to the even pattern. */
function nearestHalf(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // Halfway past the largest half (65504 + 16) rounds to infinity, as IEEE 754 rounds.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = FINITE.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (FINITE[mid].value <= a) lo = mid;
    else hi = mid;
  }
  const below = FINITE[lo];
  const above = FINITE[hi];
  if (a <= below.value) return sign | below.bits;
  const dBelow = a - below.value;
  const dAbove = above.value - a;
  const pick = dBelow < dAbove ? below : dAbove < dBelow ? above : below.bits % 2 === 0 ? below : above;
  return sign | pick.bits;
}

describe('half precision', () => {
  it('reads bit patterns as worked out by hand', () => {
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 1365 / 4096], // (1 + 341/1024) / 4
      [0x7bff, 65504],
      [0x0400, 2 ** -14],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    for (const [bits, value] of cases) assert.equal(halfToFloat(bits), value, `0x${bits.toString(16)}`);
    assert.ok(Object.is(halfToFloat(0x8000), -0));
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    assert.equal(bfloat16ToFloat(0x3f80), 1);
    assert.equal(bfloat16ToFloat(0xc040), -3);
    assert.equal(bfloat16ToFloat(0x3e20), 0.15625);
  });

  it('turns every half back into its own bits', () => {
    for (let bits = 0; bits < 1 << 16; bits++) {
      const exponent = (bits >> 10) & 0x1f;
      if (exponent === 0x1f && (bits & 0x3ff) !== 0) continue; // NaN: any NaN pattern will do
      assert.equal(floatToHalf(halfToFloat(bits)), bits, `0x${bits.toString(16)}`);
    }
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  });

  it('rounds float32 values to the nearest half, ties to even, as a search over all halves finds', () => {
    const rng = new Random(5);
    const values: number[] = [];
    // Random values across the whole range of magnitudes, and every tie between neighbours (and a float32 step either side).
    for (let i = 0; i < 20_000; i++) values.push(Math.fround((rng.uniform(0, 1) < 0.5 ? -1 : 1) * 2 ** rng.uniform(-27, 17)));
    for (let bits = 0; bits < 0x7bff; bits += 7) {
      const mid = (halfToFloat(bits) + halfToFloat(bits + 1)) / 2; // exact in float32: one more bit than a half has
      const step = Math.max(2 ** -149, Math.abs(mid) * 2 ** -23);
      values.push(mid, Math.fround(mid + step), Math.fround(mid - step), -mid);
    }
    values.push(65504, 65519, 65520, 70000, 2 ** -25, 2 ** -25 + 2 ** -40, 2 ** -26, -0, Math.fround(1e-30));
    for (const x of values) {
      assert.equal(Math.fround(x), x);
      assert.equal(floatToHalf(x), nearestHalf(x), `${x}`);
    }
  });

  it('reads F16 and BF16 tensors of a safetensors file as float32', () => {
    const header = '{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]}}';
    // 1, -2, 2^-24 in half; 1, -3 in bfloat16 (little-endian bytes).
    const { tensors } = decodeSafetensors(handmade(header, [0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x80, 0x3f, 0x40, 0xc0]), 'w');
    assert.deepEqual([...tensors.get('h')!.data], [1, -2, 2 ** -24]);
    assert.deepEqual([...tensors.get('b')!.data], [1, -3]);
  });

  it('writes F16 tensors: half the bytes, each value its nearest half', () => {
    const data = new Float32Array([1, -2, 0.1, 65504, 1e-8, 3.14159]);
    const bytes = encodeSafetensors([{ name: 'w', shape: [2, 3], data }], { note: 'x' }, 'F16');
    const n = new DataView(bytes.buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
    assert.deepEqual(header.w, { dtype: 'F16', shape: [2, 3], data_offsets: [0, 12] });
    const raw = new DataView(bytes.buffer, 8 + n);
    for (let i = 0; i < data.length; i++) assert.equal(raw.getUint16(2 * i, true), nearestHalf(data[i]));
    const back = decodeSafetensors(bytes, 'w').tensors.get('w')!.data;
    assert.deepEqual(
      [...back],
      [...data].map(v => halfToFloat(nearestHalf(v))),
    );
    assert.throws(() => encodeSafetensors([{ name: 'big', shape: [1], data: new Float32Array([70000]) }], {}, 'F16'), /big holds 70000/);
  });

  it('loads a model stored in half precision with its weights widened', () => {
    const vocab = new Vocabulary(['a', 'b', 'c']);
    const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: 4, emb: 3, vocabSize: 3, dropout: 0 }, referenceKernels(), { seed: 3 });
    const decoded = decodeModel(encodeModel(model, vocab, { note: 'half' }, 'F16'), 'half.safetensors');
    assert.equal(decoded.metadata.note, 'half');
    for (const s of model.params.specs) {
      const want = [...model.params.get(s.name)].map(v => halfToFloat(floatToHalf(v)));
      assert.deepEqual([...decoded.tensors.get(s.name)!.data], want, s.name);
    }
  });
});
