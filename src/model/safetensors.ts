// The safetensors file format (https://github.com/huggingface/safetensors)
// for floating-point tensors: an 8-byte little-endian header length N, N bytes
// of JSON header (tensor name -> dtype, shape, data_offsets into the data
// section, plus an optional "__metadata__" map of strings), then the raw
// little-endian data. Tensors are float32 in memory; a file may store them as
// F32, or as F16 or BF16 (half the bytes), which reading widens to float32
// exactly. Platform-neutral: no Node imports.
import { CharrnnError } from '../errors.js';
import { bfloat16ToFloat, floatToHalf, halfToFloat, HALF_MAX } from './half.js';

/** One float32 tensor of a safetensors file. */
export interface Tensor {
  /** Its dimensions, outermost first; [] for a scalar. */
  shape: number[];
  /** Its values, row-major: as many as the product of `shape`. */
  data: Float32Array;
}

/** A tensor and the name it has in the file (for a model, its PyTorch state_dict name). */
export interface NamedTensor extends Tensor {
  /** Unique in the file, and not `__metadata__`. */
  name: string;
}

const METADATA_KEY = '__metadata__';

/** How a file stores its values: float32, or half precision (IEEE binary16, rounded to the nearest); BF16 is read too. */
export type StoredDtype = 'F32' | 'F16';

/** Bytes per value of each dtype a file may hold. */
const DTYPE_BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2 };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A safetensors file holding these tensors, in this order, and this metadata;
 * `dtype` F16 stores every value in half precision, rounded to the nearest
 * (an Error for a value beyond the largest half, ±65504, or not finite).
 */
export function encodeSafetensors(
  tensors: readonly NamedTensor[],
  metadata: Record<string, string>,
  dtype: StoredDtype = 'F32',
): Uint8Array {
  const width = DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = {};
  // The reference implementation writes the metadata first; readers do not care, people reading the header do.
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = { ...metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.name === METADATA_KEY || Object.hasOwn(header, t.name)) throw new Error(`tensor name ${t.name} is reserved or repeated`);
    if (elementCount(t.shape) !== t.data.length) {
      throw new Error(`tensor ${t.name} has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    }
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.length * width] };
    offset += t.data.length * width;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Padded with spaces to a multiple of 8, as the reference implementation does, so the data starts aligned.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors) {
    if (dtype === 'F16') {
      for (let i = 0; i < t.data.length; i++) {
        const v = t.data[i];
        if (!(Math.abs(v) < HALF_MAX + 16)) throw new Error(`tensor ${t.name} holds ${v} at index ${i}, which half precision cannot hold`);
        view.setUint16(at + 2 * i, floatToHalf(v), true);
      }
    } else if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(at + 4 * i, t.data[i], true);
    }
    at += t.data.length * width;
  }
  return out;
}

/**
 * Reads a safetensors file of F32, F16 or BF16 tensors, checking everything; a
 * CharrnnError naming `source` says what is wrong. Tensor data is copied out
 * as float32 (half-precision values widened exactly), so it is aligned and
 * independent of `bytes`.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new CharrnnError(`${source} is not a valid safetensors file: ${why}.`);
  };
  if (bytes.length < 8) fail(`it is ${bytes.length} bytes long, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  // A length beyond 2^32 is not a damaged safetensors file: it was never one (and
  // the figure would print rounded), so say that instead of the number.
  if (view.getUint32(4, true) !== 0) fail('its first 8 bytes are not a plausible header length (is it a safetensors file?)');
  if (headerLength > bytes.length - 8) {
    fail(`its header length is ${headerLength} bytes but only ${bytes.length - 8} bytes follow (the file is truncated or not safetensors)`);
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
    header = JSON.parse(text);
  } catch {
    fail('its header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('its header is not a JSON object');
  const entries = header as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const meta = entries[METADATA_KEY];
  if (meta !== undefined) {
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) fail(`its ${METADATA_KEY} is not an object`);
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`its metadata entry ${JSON.stringify(k)} is not a string`);
      metadata[k] = v as string;
    }
  }

  const spans: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(entries)) {
    if (name === METADATA_KEY) continue;
    if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`its entry for tensor ${name} is not an object`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
      fail(
        `tensor ${name} has dtype ${typeof dtype === 'string' ? dtype : JSON.stringify(dtype)}, and only F32, F16 and BF16 are supported`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(d => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name} has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(o => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      fail(`tensor ${name} has data_offsets [${begin}, ${end}] outside the ${dataLength} bytes of data`);
    }
    const dims = shape as number[];
    if (end - begin !== elementCount(dims) * DTYPE_BYTES[dtype as string]) {
      fail(`tensor ${name} has shape [${dims.join(', ')}] but ${end - begin} bytes of data`);
    }
    spans.push({ name, dtype: dtype as string, shape: dims, begin, end });
  }

  // Like the reference implementation: the tensors must tile the data section exactly, with no overlap and no gap.
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const s of sorted) {
    if (s.begin < expected) fail(`tensor ${s.name} overlaps another tensor's data`);
    if (s.begin > expected) fail(`there are unused bytes before tensor ${s.name}'s data`);
    expected = s.end;
  }
  if (expected !== dataLength) fail(`it has ${dataLength - expected} bytes after the last tensor's data`);

  const tensors = new Map<string, Tensor>();
  for (const s of spans) {
    const n = elementCount(s.shape);
    let data: Float32Array;
    if (s.dtype !== 'F32') {
      const widen = s.dtype === 'F16' ? halfToFloat : bfloat16ToFloat;
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = widen(view.getUint16(dataStart + s.begin + 2 * i, true));
    } else if (LITTLE_ENDIAN) {
      // Uint8Array's slice copies into a fresh, aligned buffer whatever the offset in the
      // file (called through the prototype: a Node Buffer's own slice returns a view).
      data = new Float32Array(Uint8Array.prototype.slice.call(bytes, dataStart + s.begin, dataStart + s.end).buffer);
    } else {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(dataStart + s.begin + 4 * i, true);
    }
    tensors.set(s.name, { shape: s.shape, data });
  }
  return { tensors, metadata };
}
