// charrnn export-onnx, checked by the runtime users run: onnxruntime-node
// (in process) runs the exported graph, and its logits and final states must be
// charrnn's own forward pass's, for every cell, one to three layers, B > 1, and
// with the state carried across calls; a generation loop over it (written here
// from the file's metadata alone) must give `charrnn sample`'s text, greedy and
// sampled with the same draws; the weights read back from the file (by
// protobufjs and onnx.proto, undone by the gate orders of ONNX's operator
// specification) are the safetensors weights bit for bit. And the command's
// bad input. The page (onnxruntime-web in Chromium) and the docs' loops run in
// test/e2e/onnx-web.test.ts and test/e2e/onnx-examples.test.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { CharrnnError } from '../src/errors.js';
import { encodeOnnx } from '../src/export/onnx-encode.js';
import { checkOnnxSize, onnxModel, ONNX_FORMAT, ONNX_OPSET } from '../src/export/onnx-graph.js';
import type { CellType } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { lineModelMetadata } from '../src/model/line-model.js';
import { decodeModel, loadModel } from '../src/model/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { onnxFileBytes } from '../src/node/onnx-file.js';
import { TrainingRun } from '../src/run/training-run.js';
import { DEFAULT_SETTINGS } from '../src/run/settings.js';
import { Random } from '../src/util/random.js';
import { cliRunner } from './cli-runner.js';
import { corpusOf, memoryStore, TINY_RUN } from './run-helpers.js';
import { onnxMetadataOf, randomModelFile, readOnnx, ROOT } from './onnx-helpers.js';
import { assertUserError } from './user-error.js';

const CELLS: CellType[] = ['lstm', 'gru', 'rnn'];
/** ONNX Runtime on one thread: the machine's cores are shared with the other tests. */
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

let dir: string;
const { cli, ok } = cliRunner(() => dir);
const at = (name: string): string => join(dir, name);
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-onnx-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every layer's state of B streams, as the graph takes it: [L, B, H]. */
interface OnnxState {
  h: Float32Array;
  c: Float32Array | null;
}

/** One call of the graph: ids [T, B] time-major from `state`; logits [T, B, V] and the final state. */
async function runGraph(
  session: ort.InferenceSession,
  ids: ArrayLike<number>,
  T: number,
  B: number,
  state: OnnxState,
  L: number,
  H: number,
): Promise<{ logits: Float32Array; state: OnnxState }> {
  const feeds: Record<string, ort.Tensor> = {
    ids: new ort.Tensor('int64', BigInt64Array.from(Array.from(ids), BigInt), [T, B]),
    h0: new ort.Tensor('float32', state.h, [L, B, H]),
  };
  if (state.c) feeds.c0 = new ort.Tensor('float32', state.c, [L, B, H]);
  const out = await session.run(feeds);
  return {
    logits: out.logits.data as Float32Array,
    state: { h: out.hn.data as Float32Array, c: state.c ? (out.cn.data as Float32Array) : null },
  };
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** The largest |logit difference| per cell over every model of the forward tests, for the closing note. */
const largest = new Map<CellType, number>();
after(() => {
  if (largest.size > 0)
    console.log(
      `# onnx: largest |logit difference| from charrnn's forward: ${[...largest].map(([c, d]) => `${c} ${d.toExponential(2)}`).join(', ')}`,
    );
});

describe("the exported graph on onnxruntime-node against charrnn's forward", () => {
  for (const cell of CELLS) {
    for (const layers of [1, 2, 3]) {
      test(`${cell}, ${layers} layer${layers === 1 ? '' : 's'}, B = 3: logits and final states to 1e-5, and two calls carrying the state equal one`, async t => {
        const { bytes } = randomModelFile(cell, layers, { seed: 10 * layers + CELLS.indexOf(cell) });
        const { model } = loadModel(bytes, 'm.safetensors', referenceKernels('f32'));
        const session = await ort.InferenceSession.create(
          onnxFileBytes(decodeModel(bytes, 'm.safetensors'), 'm.safetensors'),
          SESSION_OPTIONS,
        );
        const { hidden: H, vocabSize: V } = model.config;
        const T = 7,
          B = 3,
          split = 3;
        const rng = new Random(99);
        const ids = Int32Array.from({ length: T * B }, () => rng.int(V));
        // A state that is not zero, so that the graph must read h0 (and c0) of every layer.
        const state = model.newState(B);
        for (const l of state.layers) for (const a of [l.h, l.c]) if (a) for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-0.8, 0.8);
        const start: OnnxState = {
          h: Float32Array.from(state.layers.flatMap(l => Array.from(l.h))),
          c: cell === 'lstm' ? Float32Array.from(state.layers.flatMap(l => Array.from(l.c!))) : null,
        };
        const expected = Float32Array.from(model.forward(ids, T, B, state));

        const whole = await runGraph(session, ids, T, B, start, layers, H);
        const logitDifference = maxDifference(whole.logits, expected);
        assert.ok(logitDifference <= 1e-5, `logits differ by ${logitDifference}`);
        largest.set(cell, Math.max(largest.get(cell) ?? 0, logitDifference));
        state.layers.forEach((l, i) => {
          const h = whole.state.h.subarray(i * B * H, (i + 1) * B * H);
          assert.ok(maxDifference(h, l.h) <= 1e-5, `layer ${i}'s final h differs by ${maxDifference(h, l.h)}`);
          if (l.c) {
            const c = whole.state.c!.subarray(i * B * H, (i + 1) * B * H);
            assert.ok(maxDifference(c, l.c) <= 1e-5, `layer ${i}'s final c differs by ${maxDifference(c, l.c)}`);
          }
        });

        // Steps 0..split-1, then the rest from the state the first call returned.
        const first = await runGraph(session, ids.subarray(0, split * B), split, B, start, layers, H);
        const second = await runGraph(session, ids.subarray(split * B), T - split, B, first.state, layers, H);
        const carried = new Float32Array(T * B * V);
        carried.set(first.logits);
        carried.set(second.logits, split * B * V);
        assert.ok(maxDifference(carried, whole.logits) <= 1e-6, `carried logits differ by ${maxDifference(carried, whole.logits)}`);
        assert.ok(maxDifference(second.state.h, whole.state.h) <= 1e-6, 'the carried final h');
        if (cell === 'lstm') assert.ok(maxDifference(second.state.c!, whole.state.c!) <= 1e-6, 'the carried final c');
        t.diagnostic(`largest |logit difference| ${logitDifference.toExponential(2)}`);
        await session.release();
      });
    }
  }
});

/**
 * The gate order of each cell, by gate, in PyTorch's layout and in ONNX's
 * (Operators.md: LSTM iofc, GRU zrh; "g" is PyTorch's name for ONNX's "c", "n"
 * for "h"): an ONNX block is the PyTorch block of the same gate.
 */
const TORCH_GATES: Record<CellType, string> = { lstm: 'ifgo', gru: 'rzn', rnn: 'h' };
const ONNX_GATES: Record<CellType, string> = { lstm: 'iofg', gru: 'zrn', rnn: 'h' };

/** An ONNX [G*H, ...] weight or [G*H] bias back in PyTorch's gate order. */
function torchOrder(onnx: Float32Array, cell: CellType): Float32Array {
  const gates = TORCH_GATES[cell];
  const block = onnx.length / gates.length;
  const out = new Float32Array(onnx.length);
  for (let g = 0; g < gates.length; g++) {
    const from = ONNX_GATES[cell].indexOf(gates[g]);
    out.set(onnx.subarray(from * block, (from + 1) * block), g * block);
  }
  return out;
}

const floats = (raw: Uint8Array): Float32Array => {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
};
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('the ONNX file', () => {
  for (const cell of CELLS) {
    test(`${cell}: its weights read back are the safetensors weights bit for bit, in ONNX's operator and layout`, () => {
      const layers = 2;
      const { bytes } = randomModelFile(cell, layers, { seed: 5 });
      const onnx = readOnnx(onnxFileBytes(decodeModel(bytes, 'm'), 'm'));
      const { tensors } = decodeSafetensors(bytes, 'm');
      const init = new Map(onnx.graph.initializer.map(t => [t.name, t]));
      const H = 12,
        G = TORCH_GATES[cell].length;
      const back = new Map<string, Float32Array>();
      back.set('emb.weight', floats(init.get('emb.weight')!.raw_data));
      for (let l = 0; l < layers; l++) {
        const W = init.get(`rnn.W_l${l}`)!,
          R = init.get(`rnn.R_l${l}`)!,
          Bias = init.get(`rnn.B_l${l}`)!;
        assert.deepEqual(W.dims, [1, G * H, l === 0 ? 6 : H]);
        assert.deepEqual(R.dims, [1, G * H, H]);
        assert.deepEqual(Bias.dims, [1, 2 * G * H]);
        back.set(`rnn.weight_ih_l${l}`, torchOrder(floats(W.raw_data), cell));
        back.set(`rnn.weight_hh_l${l}`, torchOrder(floats(R.raw_data), cell));
        const bias = floats(Bias.raw_data);
        back.set(`rnn.bias_ih_l${l}`, torchOrder(bias.subarray(0, G * H), cell));
        back.set(`rnn.bias_hh_l${l}`, torchOrder(bias.subarray(G * H), cell));
      }
      // MatMul's right operand [H, V]: PyTorch's out.weight [V, H] transposed.
      const weightT = init.get('out.weight_t')!;
      const [h, V] = weightT.dims;
      const wt = floats(weightT.raw_data);
      back.set(
        'out.weight',
        Float32Array.from({ length: V * h }, (_, i) => wt[(i % h) * V + Math.floor(i / h)]),
      );
      back.set('out.bias', floats(init.get('out.bias')!.raw_data));
      assert.deepEqual([...back.keys()].sort(), [...tensors.keys()].sort());
      for (const [name, t] of tensors) assert.deepEqual(bits(back.get(name)!), bits(t.data), `${name} differs`);

      assert.equal(onnx.ir_version, 8);
      assert.deepEqual(onnx.opset_import, [{ domain: '', version: ONNX_OPSET }]);
      const ops = onnx.graph.node.map(n => n.op_type);
      assert.equal(ops.filter(op => op === cell.toUpperCase()).length, layers, `one ${cell.toUpperCase()} per layer: ${ops.join(' ')}`);
      assert.equal(ops[0], 'Gather');
      assert.deepEqual(ops.slice(-2), ['MatMul', 'Add']);
      for (const n of onnx.graph.node.filter(n => n.op_type === 'GRU'))
        assert.deepEqual(
          n.attribute.find(a => a.name === 'linear_before_reset')?.i,
          1,
          "PyTorch's GRU is ONNX's with linear_before_reset = 1",
        );
      const states = cell === 'lstm' ? ['h', 'c'] : ['h'];
      assert.deepEqual(
        onnx.graph.input.map(i => i.name),
        ['ids', ...states.map(s => `${s}0`)],
      );
      assert.deepEqual(
        onnx.graph.output.map(o => o.name),
        ['logits', ...states.map(s => `${s}n`)],
      );
    });
  }

  test('its metadata_props: the vocabulary, the normalisation, the architecture, and a line model’s end of line', () => {
    const { bytes, vocab } = randomModelFile('gru', 1, { normalization: 'nfd', extra: lineModelMetadata('\n', ['the fox', 'a dog']) });
    const meta = onnxMetadataOf(onnxFileBytes(decodeModel(bytes, 'm'), 'm'));
    assert.deepEqual(meta, {
      format: ONNX_FORMAT,
      vocab: JSON.stringify(vocab.chars),
      normalize: 'nfd',
      config: JSON.stringify({ cell: 'gru', layers: 1, hidden: 12, emb: 6, vocabSize: vocab.size }),
      lines: '{"eol":"\\n"}',
    });
    // The vocabulary is code points: the emoji is one entry, as charrnn counts it.
    assert.ok((JSON.parse(meta.vocab) as string[]).includes('🙂'));
    const plain = onnxMetadataOf(onnxFileBytes(decodeModel(randomModelFile('rnn', 1).bytes, 'm'), 'm'));
    assert.equal(plain.lines, undefined, 'a model of running text has no lines entry');
  });

  test('a checkpoint of a run with --ema exports as the model saved with it: the averaged weights', async () => {
    const store = memoryStore();
    const run = new TrainingRun({
      corpus: corpusOf('the quick brown fox jumps over the lazy dog.\n'.repeat(40)),
      settings: { ...DEFAULT_SETTINGS, ...TINY_RUN, lr: 0.02, ema: 0.9 },
      limits: { steps: 20 },
      kernels: referenceKernels('f32'),
      store,
    });
    await run.train();
    const onnxOf = (file: 'model' | 'checkpoint'): Uint8Array => onnxFileBytes(decodeModel(store.files.get(file)!, file), file);
    assert.deepEqual(onnxOf('checkpoint'), onnxOf('model'));
    // The checkpoint's raw weights differ from the average, so the equality is not by chance.
    const raw = decodeSafetensors(store.files.get('checkpoint')!, 'checkpoint').tensors.get('out.bias')!.data;
    assert.notDeepEqual(raw, decodeSafetensors(store.files.get('model')!, 'model').tensors.get('out.bias')!.data);
  });

  test('a field onnx.proto does not have is an error, not dropped', () => {
    const decoded = decodeModel(randomModelFile('rnn', 1).bytes, 'm');
    const model = onnxModel(decoded, { source: 'm', producerVersion: '0' });
    const schema = readFileSync(join(ROOT, 'src/export/onnx/onnx.proto'), 'utf8');
    const misspelt = { ...model, graph: { ...model.graph, nodes: [] } };
    assert.throws(() => encodeOnnx(misspelt, schema), /ModelProto\.graph\.nodes is not a field of GraphProto/);
  });

  test('a model too large for one ONNX file (2 GiB) is refused by its weights, from the config alone', () => {
    const config = { cell: 'lstm' as const, layers: 4, hidden: 8192, emb: 64, vocabSize: 100, dropout: 0 };
    assert.throws(
      () => checkOnnxSize(config, 'big.safetensors'),
      (e: unknown) =>
        e instanceof CharrnnError &&
        /^big\.safetensors cannot be written as one ONNX file: its weights take 7\.0 GiB, and an ONNX file \(a protobuf message\) holds at most 2 GiB\.$/.test(
          e.message,
        ),
    );
    assert.doesNotThrow(() => checkOnnxSize({ ...config, layers: 2, hidden: 4096 }, 'fits.safetensors'), 'a 1 GiB model fits');
  });

  test('package.json publishes the onnx.proto the export reads at run time, and the docs’ generation loops', () => {
    const files = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }).files;
    for (const path of ['src/export/onnx', 'tools/onnx-generate.mjs', 'tools/onnx_generate.py']) {
      assert.ok(files.includes(path), `package.json's files lacks ${path}`);
      assert.ok(existsSync(join(ROOT, path)), `${path} is not in the repository`);
    }
  });

  test('docs/onnx.md shows the generation loops verbatim: tools/onnx-generate.mjs and tools/onnx_generate.py', () => {
    const doc = readFileSync(join(ROOT, 'docs/onnx.md'), 'utf8');
    for (const [language, path] of [
      ['js', 'tools/onnx-generate.mjs'],
      ['python', 'tools/onnx_generate.py'],
    ]) {
      const blocks = [...doc.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map(m => m[1]);
      assert.equal(blocks.length, 1, `one ${language} block in docs/onnx.md`);
      assert.equal(blocks[0], readFileSync(join(ROOT, path), 'utf8'), `docs/onnx.md's ${language} block is ${path}`);
    }
  });
});

/**
 * Generation as a consumer of the file writes it, from the file alone: the
 * metadata turns the prime into ids, the prime is read in one call, then one
 * character per call with the state carried; `choose` picks from each row of logits.
 */
async function generateFromOnnx(path: string, prime: string, length: number, choose: (logits: Float32Array) => number): Promise<string> {
  const bytes = readFileSync(path);
  const meta = onnxMetadataOf(bytes);
  const vocab = JSON.parse(meta.vocab) as string[];
  const { cell, layers: L, hidden: H } = JSON.parse(meta.config) as { cell: CellType; layers: number; hidden: number };
  const text = meta.normalize === 'none' ? prime : prime.normalize(meta.normalize.toUpperCase());
  const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  let state: OnnxState = { h: new Float32Array(L * H), c: cell === 'lstm' ? new Float32Array(L * H) : null };
  const V = vocab.length;
  const step = async (ids: number[]): Promise<Float32Array> => {
    const r = await runGraph(session, ids, ids.length, 1, state, L, H);
    state = r.state;
    return r.logits.subarray((ids.length - 1) * V);
  };
  let logits = await step([...text].map(c => vocab.indexOf(c)));
  let out = '';
  for (let i = 0; i < length; i++) {
    const next = choose(logits);
    out += vocab[next];
    logits = await step([next]);
  }
  await session.release();
  return text + out;
}

const argmax = (logits: Float32Array): number => logits.reduce((best, v, j) => (v > logits[best] ? j : best), 0);

/** Sampling at `temperature` with charrnn's draws: softmax in float64, one uniform number of the seeded generator per character. */
function sampler(seed: number, temperature: number): (logits: Float32Array) => number {
  const rng = new Random(seed);
  return logits => {
    const max = Math.max(...logits);
    const p = Array.from(logits, l => Math.exp((l - max) / temperature));
    const sum = p.reduce((a, b) => a + b, 0);
    let u = rng.next();
    for (let j = 0; j < p.length; j++) {
      u -= p[j] / sum;
      if (u < 0) return j;
    }
    return p.length - 1;
  };
}

describe('charrnn export-onnx, and generating from its file on onnxruntime-node', () => {
  const PRIME = 'The quick ';
  const LENGTH = 150;
  for (const [cell, layers] of [
    ['lstm', 2],
    ['gru', 3],
    ['rnn', 1],
  ] as const) {
    test(`${cell} x${layers}: greedy generation gives charrnn sample --greedy's text`, async () => {
      writeFileSync(at(`${cell}.safetensors`), randomModelFile(cell, layers, { hidden: 24, emb: 8, seed: 3 }).bytes);
      const said = await ok(['export-onnx', at(`${cell}.safetensors`)]);
      assert.match(
        said,
        new RegExp(
          `^wrote .*${cell}\\.onnx \\([\\d,]+ bytes\\): ${cell}, ${layers} layers? of 24 units, \\d+ characters; ONNX opset 17\\.\\n$`,
        ),
      );
      const expected = await ok(['sample', at(`${cell}.safetensors`), '--greedy', '--prime', PRIME, '--length', String(LENGTH)]);
      assert.equal(`${await generateFromOnnx(at(`${cell}.onnx`), PRIME, LENGTH, argmax)}\n`, expected);
    });
  }

  test("sampling at temperature 0.9 with the same random draws gives charrnn sample --seed 7's text", async () => {
    writeFileSync(at('sampled.safetensors'), randomModelFile('lstm', 2, { hidden: 24, emb: 8, seed: 4 }).bytes);
    await ok(['export-onnx', at('sampled.safetensors'), '--to', at('out/sampled model.onnx')]);
    const args = ['--prime', PRIME, '--length', String(LENGTH), '--temperature', '0.9'];
    const expected = await ok(['sample', at('sampled.safetensors'), ...args, '--seed', '7']);
    assert.equal(`${await generateFromOnnx(at('out/sampled model.onnx'), PRIME, LENGTH, sampler(7, 0.9))}\n`, expected);
    // The draws matter: another seed gives another text.
    assert.notEqual(`${await generateFromOnnx(at('out/sampled model.onnx'), PRIME, LENGTH, sampler(8, 0.9))}\n`, expected);
  });

  test('bad input: one sentence, exit 1, and no file written', async () => {
    const bad = at('bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'notes.txt'), 'just some text, not a model\n');
    writeFileSync(join(bad, 'model.safetensors'), randomModelFile('rnn', 1).bytes);
    writeFileSync(join(bad, 'other.safetensors'), encodeSafetensors([{ name: 'w', shape: [2], data: new Float32Array(2) }], {}));
    mkdirSync(join(bad, 'folder.onnx'));
    const cases: [string[], RegExp][] = [
      [[join(bad, 'notes.txt')], /notes\.txt is not a valid safetensors file: /],
      [[join(bad, 'other.safetensors')], /other\.safetensors is not a usable charrnn model: its metadata has no "format" entry/],
      [[join(bad, 'missing.safetensors')], /No such file or folder: .*missing\.safetensors\./],
      [[bad], /bad is a run folder, not a model file: give .*model\.safetensors/],
      [[join(bad, 'folder.onnx')], /folder\.onnx is a folder, not a model file/],
      [[join(bad, 'model.safetensors'), '--to', join(bad, 'model.safetensors')], /--to .*model\.safetensors is the model file itself/],
      [
        [join(bad, 'model.safetensors'), '--to', join(bad, 'folder.onnx')],
        /--to .*folder\.onnx is a folder: give the path of the ONNX file/,
      ],
      [[join(bad, 'notes.txt'), '--to', join(bad, 'notes.onnx')], /is not a valid safetensors file/],
    ];
    for (const [args, says] of cases) {
      assertUserError(await cli(['export-onnx', ...args]), says, { exit: 1 });
    }
    assert.deepEqual(
      readdirSync(bad).sort(),
      ['folder.onnx', 'model.safetensors', 'notes.txt', 'other.safetensors'],
      'nothing was written',
    );
    assert.deepEqual(readdirSync(join(bad, 'folder.onnx')), []);
  });
});
