// The safetensors codec: byte layout checked by hand, round trips, and every
// kind of damaged file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { Random } from '../src/util/random.js';
import { randomFill } from './helpers.js';

/** A safetensors file made by hand: u64 little-endian header length, header text as given, then data. */
function handmade(header: string, data: number[] = []): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Little-endian bytes of float32 values, written out by DataView rather than by the codec. */
function f32bytes(...v: number[]): number[] {
  const b = new Uint8Array(4 * v.length);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setFloat32(4 * i, x, true));
  return [...b];
}

function rejects(bytes: Uint8Array, ...patterns: RegExp[]): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'w.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof CharrnnError, `expected a CharrnnError, got ${String(e)}`);
      assert.match(e.message, /^w\.safetensors [^\n]*\.$/);
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
}

describe('encodeSafetensors', () => {
  it('lays out a tiny tensor exactly as written by hand', () => {
    const bytes = encodeSafetensors([{ name: 'a', shape: [2], data: new Float32Array([1, -2]) }], {});
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 54 bytes, padded to 56
    const expected = [
      56,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...new TextEncoder().encode(header),
      0x20,
      0x20,
      0x00,
      0x00,
      0x80,
      0x3f, // 1.0f
      0x00,
      0x00,
      0x00,
      0xc0, // -2.0f
    ];
    assert.deepEqual([...bytes], expected);
  });

  it('writes tensors in the given order with contiguous offsets, metadata under __metadata__', () => {
    const bytes = encodeSafetensors(
      [
        { name: 'z.weight', shape: [2, 3], data: new Float32Array(6).fill(0.5) },
        { name: 'a.bias', shape: [3], data: new Float32Array([1, 2, 3]) },
        { name: 'scalar', shape: [], data: new Float32Array([7]) },
      ],
      { note: 'hi', n: '3' },
    );
    const n = new DataView(bytes.buffer).getUint32(0, true);
    assert.equal(new DataView(bytes.buffer).getUint32(4, true), 0);
    assert.equal(n % 8, 0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
    assert.deepEqual(header, {
      __metadata__: { note: 'hi', n: '3' },
      'z.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      'a.bias': { dtype: 'F32', shape: [3], data_offsets: [24, 36] },
      scalar: { dtype: 'F32', shape: [], data_offsets: [36, 40] },
    });
    assert.equal(bytes.length, 8 + n + 40);
    assert.deepEqual([...bytes.subarray(8 + n + 24)], f32bytes(1, 2, 3, 7));
  });
});

describe('decodeSafetensors', () => {
  it('round-trips random tensors bit for bit, including NaN, infinities and -0', () => {
    const rng = new Random(9);
    const special = new Float32Array([NaN, Infinity, -Infinity, -0, 1e-45, 3.4028234663852886e38]);
    const tensors = [
      { name: 'emb.weight', shape: [5, 4], data: randomFill(new Float32Array(20), rng, 3) },
      { name: 'special', shape: [2, 3], data: special },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      { name: 'out.bias', shape: [5], data: randomFill(new Float32Array(5), rng) },
    ];
    const meta = { format: 'x/1', text: 'héllo 😀 "quoted"\n' };
    const { tensors: got, metadata } = decodeSafetensors(encodeSafetensors(tensors, meta), 'w.safetensors');
    assert.deepEqual(metadata, meta);
    assert.deepEqual(
      [...got.keys()],
      tensors.map(t => t.name),
    );
    for (const t of tensors) {
      const g = got.get(t.name)!;
      assert.deepEqual(g.shape, t.shape);
      assert.deepEqual(
        new Uint32Array(g.data.buffer, g.data.byteOffset, g.data.length),
        new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length),
      );
    }
  });

  it('reads data at an offset that is not 4-aligned, from a view into a larger buffer', () => {
    // Header of 54 bytes, unpadded: the data starts at byte 62 of the file, and the file at byte 3 of its buffer.
    const file = handmade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32bytes(1.5, -0.25));
    const big = new Uint8Array(file.length + 5);
    big.set(file, 3);
    const { tensors, metadata } = decodeSafetensors(big.subarray(3, 3 + file.length), 'w.safetensors');
    assert.deepEqual(metadata, {});
    assert.deepEqual([...tensors.get('a')!.data], [1.5, -0.25]);
    assert.equal(tensors.get('a')!.data.byteOffset % 4, 0);
  });

  it('copies tensor data out of the file', () => {
    const file = encodeSafetensors([{ name: 'a', shape: [1], data: new Float32Array([4]) }], {});
    const { tensors } = decodeSafetensors(file, 'w.safetensors');
    file.fill(0, 8);
    assert.equal(tensors.get('a')!.data[0], 4);
  });

  it('rejects files shorter than the header length field', () => {
    rejects(new Uint8Array(0), /0 bytes long/);
    rejects(new Uint8Array(7), /7 bytes long/);
  });

  it('rejects a file truncated anywhere', () => {
    const file = encodeSafetensors(
      [
        { name: 'a', shape: [3], data: new Float32Array([1, 2, 3]) },
        { name: 'b', shape: [2], data: new Float32Array([4, 5]) },
      ],
      { k: 'v' },
    );
    const n = new DataView(file.buffer).getUint32(0, true);
    for (const cut of [0, 3, 8, 9, 8 + (n >> 1), 8 + n - 1, 8 + n, 8 + n + 1, 8 + n + 12, file.length - 1]) {
      assert.throws(() => decodeSafetensors(file.subarray(0, cut), 'w.safetensors'), CharrnnError, `cut at ${cut}`);
    }
    rejects(file.subarray(0, 8 + n + 12), /data_offsets \[12, 20\] outside the 12 bytes of data/);
    rejects(file.subarray(0, 20), new RegExp(`header length is ${n} bytes but only 12 bytes follow`));
  });

  it('rejects garbage', () => {
    const rng = new Random(2);
    for (let trial = 0; trial < 200; trial++) {
      const junk = Uint8Array.from({ length: rng.int(300) }, () => rng.int(256));
      assert.throws(() => decodeSafetensors(junk, 'w.safetensors'), CharrnnError);
    }
    rejects(new TextEncoder().encode('just some text, not a model file'), /header length/);
  });

  it('rejects a header length beyond the file, in either half of the u64', () => {
    const file = handmade('{}');
    new DataView(file.buffer).setUint32(4, 1, true);
    // Over 4 GiB of header is never a real file (random bytes usually look like this).
    rejects(file, /not a plausible header length/);
  });

  it('rejects a header that is not JSON, or not a JSON object', () => {
    rejects(handmade('{"a": {'), /header is not JSON/);
    const badUtf8 = handmade('{"\u00e9":1}');
    badUtf8.set([0xff], 10); // inside the key: the header is no longer UTF-8
    rejects(badUtf8, /header is not JSON/);
    rejects(handmade('[1, 2]'), /not a JSON object/);
    rejects(handmade('null'), /not a JSON object/);
    rejects(handmade('{"a": 3}'), /entry for tensor a is not an object/);
  });

  it('rejects dtypes other than F32, F16 and BF16, naming the one found', () => {
    for (const dtype of ['F64', 'I64', 'F8_E4M3']) {
      rejects(
        handmade(`{"w":{"dtype":"${dtype}","shape":[2],"data_offsets":[0,8]}}`, f32bytes(1, 2)),
        new RegExp(`tensor w has dtype ${dtype}, and only F32, F16 and BF16 are supported`),
      );
    }
    // A half tensor's bytes are counted two to a value.
    rejects(handmade('{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}', f32bytes(1, 2)), /shape \[2\] but 8 bytes of data/);
    rejects(handmade('{"w":{"shape":[2],"data_offsets":[0,8]}}', f32bytes(1, 2)), /dtype undefined/);
  });

  it('rejects bad shapes and offsets', () => {
    const t = (shape: string, offsets: string): string => `{"w":{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}}`;
    const data = f32bytes(1, 2, 3, 4);
    rejects(handmade(t('[3]', '[0,16]'), data), /shape \[3\] but 16 bytes of data/);
    rejects(handmade(t('[2,-2]', '[0,16]'), data), /invalid shape/);
    rejects(handmade(t('"4"', '[0,16]'), data), /invalid shape/);
    rejects(handmade(t('[4]', '[0,20]'), data), /\[0, 20\] outside the 16 bytes/);
    rejects(handmade(t('[4]', '[8,4]'), data), /outside/);
    rejects(handmade(t('[4]', '[0]'), data), /invalid data_offsets/);
    rejects(handmade(t('[4]', '[0,1.5]'), data), /invalid data_offsets/);
    rejects(handmade(t('[2]', '[4,12]'), data), /unused bytes before tensor w/);
    rejects(handmade(t('[2]', '[0,8]'), data), /8 bytes after the last tensor/);
  });

  it('rejects overlapping tensors', () => {
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    rejects(handmade(header, f32bytes(1, 2, 3)), /overlaps/);
  });

  it('rejects metadata that is not a map of strings', () => {
    rejects(handmade('{"__metadata__":{"step":3}}'), /metadata entry "step" is not a string/);
    rejects(handmade('{"__metadata__":["x"]}'), /__metadata__ is not an object/);
  });
});
