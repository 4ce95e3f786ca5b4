// Fine-tuning in the run layer: a new run whose weights start from a model.
// The grown model is checked against the starting model's tensors and a fresh
// model of the grown size (drawn with the run's seed), the starting point's
// loss against the starting model's own, samples against the two texts'
// characters, and a resumed fine-tune against one that never stopped.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { sampleLines } from '../src/generate/lines.js';
import { sampleTexts } from '../src/generate/sample-texts.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { lineModelInfo } from '../src/model/line-model.js';
import { decodeModel, loadModel } from '../src/model/model-file.js';
import { modelOrigin } from '../src/model/origin.js';
import { holdOut } from '../src/data/split.js';
import type { RunEvent } from '../src/run/events.js';
import { fineTuneSettings, startingModel } from '../src/run/fine-tune.js';
import { withLines } from '../src/run/line-mode.js';
import { planRun } from '../src/run/plan-run.js';
import { chooseFineTuneRecipe, FINE_TUNE_LR_SHARE, FINE_TUNE_PATIENCE } from '../src/run/recipe.js';
import { SettingError } from '../src/run/setting-error.js';
import { DEFAULT_SETTINGS, resumedSettings, type RunSettings, type StopLimits } from '../src/run/settings.js';
import { prepareTraining, TrainingRun } from '../src/run/training-run.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { validationPass } from '../src/train/trainer.js';
import { sha256Hex } from '../src/util/sha256.js';
import { corpusOf, memoryStore, TINY_RUN } from './run-helpers.js';

const kernels = referenceKernels('f32');
/** The starting model's text: lower case, spaces, full stops and newlines. */
const OLD_TEXT = 'the cat sat on the mat. the dog ran to the log.\n'.repeat(20);
/** The new text: some of the old characters, and capitals, digits, an accented letter and an emoji the model lacks. */
const NEW_TEXT = 'The 2 cats sat. Zoë ran 😀 to the mat.\n'.repeat(24);

/** A starting model: a few steps of a tiny run on `text` (not the initial draw, so its rows differ from any fresh model's). */
async function trainedModel(text: string, settings: Partial<RunSettings> = {}): Promise<Uint8Array> {
  const store = memoryStore();
  const run = new TrainingRun({
    corpus: corpusOf(text),
    settings: { ...DEFAULT_SETTINGS, ...TINY_RUN, seed: 11, ...settings },
    limits: { steps: 5 },
    kernels,
    store,
  });
  await run.train();
  return store.files.get('model')!;
}

function fineTune(from: ReturnType<typeof startingModel>, text: string, settings: Partial<RunSettings>, limits: StopLimits) {
  const s = fineTuneSettings({ ...DEFAULT_SETTINGS, ...TINY_RUN, ...settings }, settings, from);
  const store = memoryStore();
  const corpus = withLines(corpusOf(text), s);
  const run = new TrainingRun({ corpus, settings: s, limits, kernels, store, from });
  const events: RunEvent[] = [];
  run.on(e => events.push(e));
  return { run, store, events, settings: s };
}

const bitsOf = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('fine-tuning grows the vocabulary', () => {
  test("the model's rows are unchanged bit for bit before the first step; added rows are a fresh model's of the grown size", async () => {
    const bytes = await trainedModel(OLD_TEXT);
    const from = startingModel(bytes, 'start.safetensors');
    const s = fineTuneSettings({ ...DEFAULT_SETTINGS, ...TINY_RUN, seed: 3 }, {}, from);
    const prepared = prepareTraining(corpusOf(NEW_TEXT), s, kernels, null, { steps: 1 }, from);
    // By hand: the old characters in their order, then the new text's other characters in code-point order.
    const old = [...new Set(OLD_TEXT)].sort();
    const expectedAdded = ['2', 'T', 'Z', 'ë', '😀'];
    assert.deepEqual(prepared.corpus.vocab.chars, [...old, ...expectedAdded]);
    assert.deepEqual(prepared.added, expectedAdded);
    assert.equal(prepared.corpus.vocab.decode(prepared.corpus.ids), NEW_TEXT, 'the text re-encoded in the grown vocabulary');

    const V0 = old.length;
    const V = V0 + expectedAdded.length;
    const start = decodeModel(bytes, 'start');
    const fresh = new CharRNN({ ...start.config, vocabSize: V }, kernels, { seed: 3 });
    for (const spec of prepared.model.params.specs) {
      const got = prepared.model.params.get(spec.name);
      const was = start.tensors.get(spec.name)!.data;
      const rowLength = spec.size / spec.shape[0];
      if (spec.shape[0] === V) {
        assert.deepEqual(bitsOf(got.subarray(0, V0 * rowLength)), bitsOf(was), `${spec.name}: the model's rows`);
        assert.deepEqual(
          bitsOf(got.subarray(V0 * rowLength)),
          bitsOf(fresh.params.get(spec.name).subarray(V0 * rowLength)),
          `${spec.name}: the added rows as a fresh model draws them`,
        );
      } else {
        assert.deepEqual(bitsOf(got), bitsOf(was), `${spec.name}: the recurrent layers whole`);
      }
    }
  });

  test("the starting point's validation loss is the starting model's own on the held-out text", async () => {
    const bytes = await trainedModel(OLD_TEXT);
    const from = startingModel(bytes, 'start');
    // A text of old characters only, so the starting model can score it as it is.
    const text = 'the dog sat on the cat. the mat ran to the log.\n'.repeat(20);
    const { run, events } = fineTune(from, text, { valFrac: 0.2, valEvery: 0 }, { steps: 2 });
    await run.train();
    const first = events.find(e => e.type === 'validation')!;
    assert.equal(first.step, 0);
    const { model, vocab } = loadModel(bytes, 'start', kernels);
    const ids = vocab.encode(text).ids;
    const val = holdOut(ids, 0.2, 'tail', 1).val;
    let sums = { total: 0, count: 0 };
    for (const s of validationPass(model, val, TINY_RUN.batch, TINY_RUN.seq, 0)) sums = s;
    assert.ok(Math.abs((first as { loss: number }).loss - sums.total / sums.count) < 1e-6);
  });

  test('samples hold only characters of the model or the text, never the unknown symbol', async () => {
    // The starting model knows U+FFFD (a folded character, say); the new text adds others.
    const bytes = await trainedModel(`${OLD_TEXT}\uFFFD`);
    const from = startingModel(bytes, 'start');
    const { run } = fineTune(from, NEW_TEXT, {}, { steps: 8 });
    await run.train();
    const allowed = new Set([...OLD_TEXT, ...NEW_TEXT]);
    const [text] = sampleTexts(run.model, run.vocab, { length: 3000, temperature: 2, prime: '', seed: 5 });
    const seen = new Set([...text]);
    for (const c of seen) assert.ok(allowed.has(c), `sampled ${JSON.stringify(c)}, which neither text has`);
    assert.ok(
      [...'TZë😀'].some(c => seen.has(c)),
      'the added characters are drawn too',
    );
  });

  test("a model file of the run records where it started: the name and the SHA-256 of the starting file's bytes", async () => {
    const bytes = await trainedModel(OLD_TEXT);
    const from = startingModel(bytes, 'english');
    assert.equal(from.sha256, createHash('sha256').update(bytes).digest('hex'));
    const { run, store, events } = fineTune(from, NEW_TEXT, { valEvery: 2, valFrac: 0.2 }, { steps: 4 });
    await run.train();
    for (const file of ['model', 'best'] as const) {
      assert.deepEqual(modelOrigin(decodeModel(store.files.get(file)!, file).metadata), { name: 'english', sha256: from.sha256 });
    }
    assert.deepEqual(decodeCheckpoint(store.files.get('checkpoint')!, 'checkpoint').origin, { name: 'english', sha256: from.sha256 });
    const note = events.find(e => e.type === 'note')!;
    assert.match(
      (note as { message: string }).message,
      /^fine-tuning english \(a 1x16 LSTM with 16 characters, sha256 [0-9a-f]{12}…\): 5 characters of the text the model lacks get new rows: "2" \(U\+0032\), "T" \(U\+0054\), "Z" \(U\+005A\), "ë" \(U\+00EB\), "😀" \(U\+1F600\)$/,
    );
  });

  test('sha256Hex agrees with node:crypto on lengths around the block boundaries', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 70_000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
      assert.equal(sha256Hex(bytes), createHash('sha256').update(bytes).digest('hex'), `${n} bytes`);
    }
  });
});

describe('fine-tuning in line mode', () => {
  const NAMES = [
    'anna',
    'bella',
    'cora',
    'dina',
    'ella',
    'fiona',
    'greta',
    'hanna',
    'ida',
    'julia',
    'kara',
    'lena',
    'mona',
    'nina',
    'olga',
  ];
  const LIST = `${Array.from({ length: 8 }, () => NAMES.join('\n')).join('\n')}\n`;

  test('a stream model without a newline fine-tuned on a list gets the end-of-line as a new row and learns to end lines', async () => {
    const bytes = await trainedModel('an anna ella bella nina a mona '.repeat(40));
    const from = startingModel(bytes, 'stream');
    assert.equal(from.model.vocab.id('\n'), undefined);
    assert.equal(lineModelInfo(from.model.metadata), null);
    const { run, store } = fineTune(from, LIST, { lines: true, valFrac: 0.1, lr: 0.01, hidden: 16 }, { steps: 150 });
    await run.train();
    assert.ok(run.vocab.id('\n')! >= from.model.vocab.size, 'the end-of-line is an added row');
    const { metadata } = decodeModel(store.files.get('model')!, 'model');
    assert.ok(lineModelInfo(metadata, 'model'), 'the fine-tuned model is a line model');
    assert.equal(modelOrigin(metadata)?.name, 'stream');
    const sampled = sampleLines(run.model, run.vocab, { count: 40, eol: '\n', maxLength: 40, temperature: 0.7, prime: '', seed: 2 });
    const ended = sampled.finishReasons.filter(r => r === 'stop').length;
    assert.ok(ended >= 36, `${ended} of 40 lines ended with the end-of-line`);
  });
});

describe('a fine-tuning run resumes bit for bit', () => {
  for (const lines of [false, true]) {
    test(`${lines ? 'line mode' : 'streams'}: stopped at step 8 and resumed to 12, the same files as 12 in one go`, async () => {
      const bytes = await trainedModel(OLD_TEXT);
      const from = startingModel(bytes, 'start');
      const text = lines ? 'Zoë\nTom\nanna\ncat 2\nthe dog\nmat\nMay\n'.repeat(6) : NEW_TEXT;
      // Stopped at a validation and checkpoint step, so that the first part ends where the whole run passes by.
      const settings: Partial<RunSettings> = { lines, valEvery: 4, valFrac: 0.2, checkpointEvery: 4, dropout: 0.1, ema: 0.9 };
      const whole = fineTune(from, text, settings, { steps: 12 });
      await whole.run.train();

      const first = fineTune(from, text, settings, { steps: 8 });
      await first.run.train();
      const checkpoint = decodeCheckpoint(first.store.files.get('checkpoint')!, 'checkpoint');
      const s = resumedSettings(checkpoint.run.settings as Partial<RunSettings>, {});
      // The text as read anew, in its own vocabulary: the run encodes it as the checkpoint has it.
      const store = memoryStore();
      const resumed = new TrainingRun({
        corpus: withLines(corpusOf(text), s),
        settings: s,
        limits: { steps: 12 },
        kernels,
        store,
        checkpoint,
      });
      await resumed.train();
      for (const file of ['model', 'checkpoint', 'best'] as const) {
        assert.deepEqual(store.files.get(file), whole.store.files.get(file), `${file} differs`);
      }
      assert.equal(modelOrigin(decodeModel(store.files.get('model')!, 'model').metadata)?.sha256, from.sha256);
    });
  }
});

describe('what fine-tuning refuses', () => {
  test("a size or cell against the model's, or another normalisation, is one sentence naming the setting", async () => {
    const from = startingModel(await trainedModel(OLD_TEXT), 'english');
    const refused = (given: Partial<RunSettings>, says: RegExp): void => {
      assert.throws(
        () => fineTuneSettings({ ...DEFAULT_SETTINGS, ...given }, given, from),
        (e: unknown) => e instanceof SettingError && says.test(e.message),
      );
    };
    refused(
      { hidden: 32 },
      /^The model english is a 1x16 LSTM with 16 characters, and fine-tuning keeps its size and cell, so hidden cannot be 32: leave hidden out\.$/,
    );
    refused({ cell: 'gru' }, /so cell cannot be gru/);
    refused({ layers: 2 }, /so layers cannot be 2/);
    refused({ emb: 4 }, /so emb cannot be 4/);
    // The model was trained on text as given (corpusOf), in no normalisation form.
    refused(
      { normalize: 'nfc' },
      /^The model english was trained on text in Unicode form none, .* leave normalize out, or give normalize none\.$/,
    );
    // The same values as the model's are no contradiction, and the model's form is used when none is given.
    const s = fineTuneSettings({ ...DEFAULT_SETTINGS, normalize: 'nfc' }, { hidden: 16 }, from);
    assert.deepEqual([s.cell, s.layers, s.hidden, s.emb, s.normalize], ['lstm', 1, 16, 8, 'none']);
  });

  test('a run both resuming and fine-tuning, or settings that do not keep the model, are refused', async () => {
    const bytes = await trainedModel(OLD_TEXT);
    const from = startingModel(bytes, 'start');
    const { run, store } = fineTune(from, NEW_TEXT, {}, { steps: 2 });
    await run.train();
    const checkpoint = decodeCheckpoint(store.files.get('checkpoint')!, 'checkpoint');
    const s = { ...DEFAULT_SETTINGS, ...TINY_RUN };
    const build = (o: object) => new TrainingRun({ corpus: corpusOf(NEW_TEXT), settings: s, limits: { steps: 3 }, kernels, store, ...o });
    assert.throws(
      () => build({ checkpoint, from }),
      (e: unknown) => e instanceof CharrnnError && /either resumes a checkpoint or fine-tunes/.test(e.message),
    );
    assert.throws(() => build({ from: { ...from, model: { ...from.model, config: { ...from.model.config, hidden: 32 } } } }), SettingError);
    await assert.rejects(
      planRun({ text: corpusOf(NEW_TEXT), settings: s, given: {}, limits: { steps: 2 }, recipe: 'off', resumed: true, kernels, from }),
      /^SettingError: from starts a new run from a model; a resumed run goes on from its checkpoint, so leave from out\.$/,
    );
  });

  test('a file that is not a model is one sentence naming it', () => {
    assert.throws(() => startingModel(new Uint8Array([1, 2, 3]), 'junk.bin'), /^CharrnnError: junk\.bin is not a valid safetensors file/);
  });
});

describe('the fine-tune recipe', () => {
  /** A share of the fresh recipe's 2e-3 for a model up to 512 units, to 5 decimals as the recipe rounds it. */
  const LR = Number((FINE_TUNE_LR_SHARE * 2e-3).toFixed(5));
  const speeds = [{ cell: 'lstm' as const, layers: 2, hidden: 384, emb: 64, charsPerSecond: 10_000 }];
  const model = { cell: 'lstm' as const, layers: 2, hidden: 384, emb: 64 };

  test('keeps the model, lowers the peak rate, warms up briefly, validates often and stops at the best point', () => {
    const r = chooseFineTuneRecipe({ speeds, textChars: 50_000, vocabSize: 106, seconds: 120, model });
    const s = r.settings;
    // By hand: 4,000 / 50,000 = 0.08 held out; 46,000 training characters; batch min(50, 46,000 / 500); 120 s x 0.94 x 10k chars/s.
    assert.deepEqual([s.cell, s.layers, s.hidden, s.emb], ['lstm', 2, 384, 64]);
    assert.equal(s.valFrac, 0.08);
    assert.equal(s.batch, 50);
    const steps = Math.floor((120 * 0.94 * 10_000) / 2500);
    assert.equal(s.scheduleSteps, steps);
    assert.equal(s.lr, LR);
    assert.ok(Math.abs(s.lrMin - LR / 10) < 1e-12);
    assert.equal(s.warmup, Math.min(30, Math.floor(steps / 10)));
    assert.equal(s.patience, FINE_TUNE_PATIENCE);
    assert.equal(s.valSplit, 'spread');
    assert.ok(s.valEvery >= 10 && s.valEvery <= Math.ceil(steps / 12), `validates every ${s.valEvery} of ${steps} steps`);
    assert.equal(s.weightDecay, 0);
    assert.match(r.explanation, /^fine-tune the 2x384 LSTM/);
  });

  test('a small text gets fewer streams; what the user gave wins', () => {
    const small = chooseFineTuneRecipe({ speeds, textChars: 20_000, vocabSize: 106, seconds: 120, model });
    assert.equal(small.settings.valFrac, 0.1);
    assert.equal(small.settings.batch, Math.floor(18_000 / 500));
    const given = chooseFineTuneRecipe({
      speeds,
      textChars: 20_000,
      vocabSize: 106,
      seconds: 120,
      model,
      given: { lr: 1e-3, batch: 10, patience: 0 },
    });
    assert.deepEqual([given.settings.lr, given.settings.batch, given.settings.patience], [1e-3, 10, 0]);
  });

  test('planRun plans a fine-tune for a time budget, in line mode too, around the model it keeps', async () => {
    const from = startingModel(await trainedModel(OLD_TEXT), 'start');
    for (const lines of [false, true]) {
      const text = lines ? 'Zoë\nTom\nanna\ncat 2\nthe dog\nmat\nMay\n'.repeat(30) : NEW_TEXT.repeat(4);
      const plan = await planRun({
        text: corpusOf(text),
        settings: { ...DEFAULT_SETTINGS, lines },
        given: {},
        limits: { seconds: 4 },
        recipe: 'auto',
        resumed: false,
        kernels,
        from,
      });
      assert.deepEqual([plan.settings.layers, plan.settings.hidden, plan.settings.emb], [1, 16, 8]);
      assert.equal(plan.settings.lr, LR);
      assert.equal(plan.settings.patience, FINE_TUNE_PATIENCE);
      assert.match(plan.notes[0], /^recipe: fine-tune the 1x16 LSTM/);
    }
  });
});
