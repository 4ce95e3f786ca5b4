// Resuming on another text is refused with the one sentence that says so,
// whatever that text's length: before the fix, a shorter text (running text,
// line mode, or standard input's hashed text) failed on the saved batch
// position instead, which hid that the text was not the run's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { withLines } from '../src/run/line-mode.js';
import { TrainingRun, type TrainingText } from '../src/run/training-run.js';
import { DEFAULT_SETTINGS, resumedSettings, type RunSettings } from '../src/run/settings.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { memoryStore, TINY_RUN } from './run-helpers.js';

/** Batch 2 of seq 8 and nothing held out, so that the shorter texts here still fill a batch. */
const TINY: Partial<RunSettings> = { ...TINY_RUN, batch: 2, seq: 8, valFrac: 0 };

function textOf(text: string, source: string, s: RunSettings, hash?: string): TrainingText {
  const vocab = Vocabulary.fromText(text);
  return withLines({ ids: vocab.encode(text).ids, vocab, source, ...(hash ? { hash } : {}) }, s);
}

/** Trains `steps` on `first`, then resumes its checkpoint on `second`: the error the resume throws. */
async function resumeOn(
  settings: Partial<RunSettings>,
  steps: number,
  first: TrainingText | ((s: RunSettings) => TrainingText),
  second: (s: RunSettings) => TrainingText,
): Promise<unknown> {
  const s = { ...DEFAULT_SETTINGS, ...TINY, ...settings };
  const store = memoryStore();
  const corpus = typeof first === 'function' ? first(s) : first;
  await new TrainingRun({ corpus, settings: s, limits: { steps }, kernels: referenceKernels('f32'), store }).train();
  const checkpoint = decodeCheckpoint(store.files.get('checkpoint')!, 'checkpoint');
  const resumed = resumedSettings(checkpoint.run.settings as Partial<RunSettings>, {});
  try {
    new TrainingRun({
      corpus: second(resumed),
      settings: resumed,
      limits: { steps: steps + 5 },
      kernels: referenceKernels('f32'),
      store: memoryStore(),
      checkpoint,
    });
  } catch (e) {
    return e;
  }
  return null;
}

const LONG = 'the quick brown fox jumps over the lazy dog. '.repeat(40); // 1,800 characters
const SHORT = 'the lazy dog sleeps, the quick fox runs. '.repeat(2); // 82: past one batch, short of the saved position
const differs =
  (source: string) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof CharrnnError, String(e));
    assert.equal(e.message, `The text differs from the one the run was trained on (${source}), so it cannot resume on it.`);
    return true;
  };

describe('resuming on another text', () => {
  test('running text, shorter than the saved position: the text differs', async () => {
    const e = await resumeOn(
      {},
      40,
      s => textOf(LONG, 'a.txt', s),
      s => textOf(SHORT, 'b.txt', s),
    );
    assert.ok(differs('b.txt')(e));
  });

  test('running text, longer: the text differs (as before)', async () => {
    const e = await resumeOn(
      {},
      3,
      s => textOf(SHORT, 'a.txt', s),
      s => textOf(LONG, 'b.txt', s),
    );
    assert.ok(differs('b.txt')(e));
  });

  test('standard input (a hashed text), shorter: the text differs', async () => {
    const e = await resumeOn(
      {},
      40,
      s => textOf(LONG, '-', s, 'sha256:first'),
      s => textOf(SHORT, '-', s, 'sha256:second'),
    );
    assert.ok(differs('-')(e));
  });

  test('line mode, fewer lines than the saved batch: the text differs', async () => {
    const many = Array.from({ length: 60 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const few = 'one\ntwo\nthree\n';
    const e = await resumeOn(
      { lines: true, seq: 50 },
      20,
      s => textOf(many, 'names.txt', s),
      s => textOf(few, 'few.txt', s),
    );
    assert.ok(differs('few.txt')(e));
  });

  test('the same text resumes', async () => {
    const e = await resumeOn(
      {},
      40,
      s => textOf(LONG, 'a.txt', s),
      s => textOf(LONG, 'a.txt', s),
    );
    assert.equal(e, null);
  });
});
