// Generates text from a charrnn model exported by `charrnn export-onnx`, on ONNX
// Runtime for Node (npm install onnxruntime-node protobufjs), without charrnn:
//
//   node onnx-generate.mjs MODEL.onnx [PRIME] [LENGTH] [TEMPERATURE]
//
// TEMPERATURE 0 (the default) takes the most likely character each time, as
// `charrnn sample --greedy` does. In a page, import onnxruntime-web instead and
// fetch the file's bytes; the loop is the same.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs';

const [path, prime = '', length = '200', temperature = '0'] = process.argv.slice(2);
const bytes = readFileSync(path);

// ONNX Runtime's JavaScript API does not show metadata_props: read them with the
// two messages of ONNX's onnx.proto they need (protobufjs skips the other fields).
const { root } = protobuf.parse(
  `syntax = "proto2";
   message StringStringEntryProto { optional string key = 1; optional string value = 2; }
   message ModelProto { repeated StringStringEntryProto metadata_props = 14; }`,
  { keepCase: true },
);
const meta = Object.fromEntries(
  root
    .lookupType('ModelProto')
    .decode(bytes)
    .metadata_props.map(e => [e.key, e.value]),
);
const vocab = JSON.parse(meta.vocab); // the characters in id order, one code point each
const { cell, layers, hidden } = JSON.parse(meta.config);
const idOf = new Map(vocab.map((c, i) => [c, i]));
const unknown = idOf.get('\ufffd') ?? -1; // the unknown symbol (if any) is never generated
const start = meta.normalize === 'none' ? prime : prime.normalize(meta.normalize.toUpperCase());
const primeIds = [...start].map(c => idOf.get(c)); // [...] splits by code point, as the vocabulary does
if (primeIds.includes(undefined)) throw new Error('the prime has a character the model has never seen');

const session = await ort.InferenceSession.create(bytes);
// Every layer's state, [layers, streams = 1, hidden]; an LSTM has a cell state too.
const zeros = () => new ort.Tensor('float32', new Float32Array(layers * hidden), [layers, 1, hidden]);
let state = cell === 'lstm' ? { h0: zeros(), c0: zeros() } : { h0: zeros() };

/** Reads character ids from the state (and moves it on); returns the logits after the last. */
async function read(ids) {
  const out = await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [ids.length, 1]), ...state });
  state = cell === 'lstm' ? { h0: out.hn, c0: out.cn } : { h0: out.hn };
  return out.logits.data.slice((ids.length - 1) * vocab.length);
}

// Without a prime, start as at the beginning of a line.
let logits = await read(primeIds.length > 0 ? primeIds : [idOf.get('\n')]);
let text = start;
for (let n = 0; n < Number(length); n++) {
  if (unknown >= 0) logits[unknown] = -Infinity;
  let next = 0;
  if (Number(temperature) > 0) {
    const max = Math.max(...logits);
    const p = Array.from(logits, l => Math.exp((l - max) / Number(temperature)));
    let u = Math.random() * p.reduce((a, b) => a + b, 0);
    while (next < p.length - 1 && (u -= p[next]) >= 0) next++;
  } else {
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[next]) next = j;
  }
  text += vocab[next];
  logits = await read([next]);
}
console.log(text);
