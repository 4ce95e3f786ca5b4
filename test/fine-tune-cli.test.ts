// `charrnn train TEXT --from MODEL` and the base models, through the CLI in
// process: a model file, a run folder and a base model's name (from a folder
// CHARRNN_BASE_MODELS names) as the starting point; base models by name in
// sample and eval; and each bad input refused in one sentence with nothing
// written. The shipped base model's own test waits for its file (see SHIPPED).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeModel } from '../src/model/model-file.js';
import { modelOrigin } from '../src/model/origin.js';
import { createFineTuneRun } from '../src/browser/training.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import {
  BASE_MODELS_ENV,
  baseModelFile,
  baseModelNames,
  modelFile,
  PACKAGE_BASE_MODELS,
  readStartingModel,
} from '../src/node/base-models.js';
import { buildServer } from '../src/server/app.js';
import { loadServedModels } from '../src/server/served-models.js';
import { CharRnnModel } from '../src/node/index.js';
import { cliRunner, TINY } from './cli-runner.js';
import { assertUserError } from './user-error.js';

/**
 * Set to true once models/english.safetensors is in the repository (the lead
 * adds it): then the test of the shipped base model runs.
 */
const SHIPPED = true;

let dir = '';
const at = (...parts: string[]): string => join(dir, ...parts);
const { cli, ok } = cliRunner(
  () => dir,
  // A folder of base models of the tests' own, in place of the package's.
  { CHARRNN_BASE_MODELS: join(tmpdir(), 'charrnn-fine-tune-cli-base') },
);
const BASE = join(tmpdir(), 'charrnn-fine-tune-cli-base');

const OLD = 'the cat sat on the mat. the dog ran to the log.\n'.repeat(30);
const NEW = 'The 2 cats sat. Zoë ran to the mat, then the log.\n'.repeat(30);
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const metadataOf = (path: string): Record<string, string> => decodeModel(readFileSync(path), path).metadata;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-fine-tune-cli-'));
  rmSync(BASE, { recursive: true, force: true });
  mkdirSync(BASE);
  writeFileSync(at('old.txt'), OLD);
  writeFileSync(at('new.txt'), NEW);
  await ok(['train', 'old.txt', ...TINY, '--steps', '4', '--val-every', '2', '--out', 'base-run', '--quiet']);
  copyFileSync(at('base-run', 'model.safetensors'), join(BASE, 'tiny.safetensors'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(BASE, { recursive: true, force: true });
});

describe('charrnn train --from', () => {
  test('a base model by name: the run says what it added, and its files record the name and the file hash', async () => {
    const r = await cli(['train', 'new.txt', '--from', 'tiny', ...TINY, '--steps', '3', '--out', 'ft-name', '--sample-length', '0']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout + r.stderr,
      /fine-tuning tiny \(a 1x16 LSTM with 16 characters, sha256 [0-9a-f]{12}…\): 5 characters of the text the model lacks get new rows: "," \(U\+002C\), "2" \(U\+0032\), "T" \(U\+0054\), "Z" \(U\+005A\), "ë" \(U\+00EB\)/,
    );
    for (const file of ['model.safetensors', 'best.safetensors', 'checkpoint.safetensors']) {
      assert.deepEqual(modelOrigin(metadataOf(at('ft-name', file))), { name: 'tiny', sha256: sha(join(BASE, 'tiny.safetensors')) }, file);
    }
  });

  test('a model file, and a run folder (its best model), as the starting point', async () => {
    await ok(['train', 'new.txt', '--from', 'base-run/model.safetensors', ...TINY, '--steps', '2', '--out', 'ft-file', '--quiet']);
    assert.deepEqual(modelOrigin(metadataOf(at('ft-file', 'model.safetensors'))), {
      name: 'base-run/model.safetensors',
      sha256: sha(at('base-run', 'model.safetensors')),
    });
    await ok(['train', 'new.txt', '--from', 'base-run', ...TINY, '--steps', '2', '--out', 'ft-folder', '--quiet']);
    assert.deepEqual(modelOrigin(metadataOf(at('ft-folder', 'model.safetensors'))), {
      name: join('base-run', 'best.safetensors'),
      sha256: sha(at('base-run', 'best.safetensors')),
    });
  });

  test("the model's size is kept without flags; a fine-tuning run resumes like any other, keeping its origin", async () => {
    await ok([
      'train',
      'new.txt',
      '--from',
      'tiny',
      '--backend',
      'reference',
      '--no-plot',
      '--batch',
      '4',
      '--seq',
      '16',
      '--steps',
      '2',
      '--out',
      'ft-resume',
      '--quiet',
    ]);
    const config = JSON.parse(metadataOf(at('ft-resume', 'model.safetensors')).config) as {
      hidden: number;
      emb: number;
      vocabSize: number;
    };
    assert.deepEqual([config.hidden, config.emb, config.vocabSize], [16, 8, 21]);
    await ok(['train', '--resume', 'ft-resume', '--steps', '4', '--quiet', '--backend', 'reference', '--no-plot']);
    const metadata = metadataOf(at('ft-resume', 'model.safetensors'));
    assert.equal(JSON.parse(metadata.training).steps, 4);
    assert.equal(modelOrigin(metadata)?.name, 'tiny');
  });

  test('a list corpus fine-tunes a stream model in line mode', async () => {
    await ok(['train', '--corpus', 'names', '--from', 'tiny', ...TINY, '--steps', '3', '--out', 'ft-names', '--quiet']);
    const metadata = metadataOf(at('ft-names', 'model.safetensors'));
    assert.ok(metadata.lines, 'a line model');
    assert.equal(modelOrigin(metadata)?.name, 'tiny');
  });

  test('--max-vocab folds the rare characters of the new text as for a new run: one row for the unknown symbol, never sampled', async () => {
    writeFileSync(at('rare.txt'), `${NEW}ÅÆÇ€\n`);
    await ok(['train', 'rare.txt', '--from', 'tiny', '--max-vocab', '20', ...TINY, '--steps', '2', '--out', 'ft-rare', '--quiet']);
    const vocab = JSON.parse(metadataOf(at('ft-rare', 'model.safetensors')).vocab) as string[];
    assert.ok(vocab.includes('\uFFFD'));
    assert.ok(!vocab.includes('€'));
    const sample = await ok(['sample', 'ft-rare/model.safetensors', '--length', '2000', '--temperature', '3', '--backend', 'reference']);
    assert.ok(!sample.includes('\uFFFD'));
  });
});

describe('bad input to --from is one sentence, and nothing is written', () => {
  const refused = async (args: string[], says: RegExp): Promise<void> => {
    const out = `refused-${Math.random().toString(36).slice(2)}`;
    const r = await cli(['train', ...TINY, '--steps', '2', '--out', out, ...args]);
    assertUserError(r, says);
    assert.ok(!existsSync(at(out)), `${out} was written`);
  };

  test('a file that is not a model', async () => {
    writeFileSync(at('junk.safetensors'), 'not a model at all');
    await refused(['new.txt', '--from', 'junk.safetensors'], /^charrnn: junk\.safetensors is not a valid safetensors file: /);
  });

  test('a run folder with no model', async () => {
    mkdirSync(at('empty-run'), { recursive: true });
    await refused(
      ['new.txt', '--from', 'empty-run'],
      /^charrnn: empty-run is a folder with no model in it \(no best\.safetensors or model\.safetensors\)/,
    );
  });

  test('a base model name that does not exist: the ones that do are named', async () => {
    await refused(['new.txt', '--from', 'klingon'], /^charrnn: klingon is neither a file nor a base model: the one base model is tiny\.$/);
  });

  test('a text it cannot fine-tune on: empty, binary, too short for one batch', async () => {
    writeFileSync(at('empty.txt'), '');
    await refused(['empty.txt', '--from', 'tiny'], /empty/);
    writeFileSync(
      at('binary.bin'),
      Uint8Array.from({ length: 600 }, (_, i) => (i * 37 + 128) & 0xff),
    );
    await refused(['binary.bin', '--from', 'tiny'], /binary\.bin/);
    writeFileSync(at('short.txt'), 'The cat.\n');
    await refused(['short.txt', '--from', 'tiny'], /^charrnn: The text is too short for --batch 4 and --seq 16: /);
    // With a time budget, too: the run's sentence, not the speed probe's.
    const r = await cli(['train', 'short.txt', '--from', 'tiny', '--minutes', '1', '--backend', 'reference', '--out', 'refused-budget']);
    assertUserError(r, /^charrnn: The text is too short for --batch 50 and --seq 50: /);
    assert.ok(!existsSync(at('refused-budget')));
  });

  test("a size or a normalisation against the model's, and --from with --resume", async () => {
    await refused(
      ['new.txt', '--from', 'tiny', '--hidden', '32'],
      /^charrnn: The model tiny is a 1x16 LSTM with 16 characters, and fine-tuning keeps its size and cell, so --hidden cannot be 32: leave --hidden out\.$/,
    );
    await refused(
      ['new.txt', '--from', 'tiny', '--normalize', 'nfd'],
      /was trained on text in Unicode form nfc.*leave --normalize out, or give --normalize nfc\.$/,
    );
    const r = await cli(['train', 'new.txt', '--from', 'tiny', '--resume', 'base-run']);
    assertUserError(r, /--from.*--resume|--resume.*--from/);
  });
});

describe('base models by name', () => {
  test('the registry lists the models of its folder, resolves a name, and leaves paths alone', () => {
    assert.deepEqual(baseModelNames(BASE), ['tiny']);
    assert.equal(baseModelFile('tiny', BASE), join(BASE, 'tiny.safetensors'));
    assert.equal(baseModelFile('nothing', BASE), null);
    assert.equal(baseModelFile('../tiny', BASE), null, 'a path is no name');
    assert.deepEqual(baseModelNames(join(BASE, 'no-such-folder')), []);
    assert.equal(modelFile('tiny', BASE), join(BASE, 'tiny.safetensors'));
    assert.equal(modelFile('runs/x.safetensors', BASE), 'runs/x.safetensors', 'a path is read as a path (and its error is the reader’s)');
    assert.throws(
      () => modelFile('nothing', join(BASE, 'none')),
      /^CharrnnError: nothing is neither a file nor a base model: this charrnn has no base models/,
    );
    assert.equal(readStartingModel('tiny', BASE).name, 'tiny');
  });

  test('sample and eval take a base model by its name', async () => {
    const sample = await ok(['sample', 'tiny', '--length', '40', '--seed', '3', '--backend', 'reference']);
    const direct = await ok(['sample', join(BASE, 'tiny.safetensors'), '--length', '40', '--seed', '3', '--backend', 'reference']);
    assert.equal(sample, direct);
    const score = await ok(['eval', 'tiny', 'old.txt', '--backend', 'reference']);
    assert.equal(score, await ok(['eval', join(BASE, 'tiny.safetensors'), 'old.txt', '--backend', 'reference']));
    assertUserError(
      await cli(['sample', 'klingon']),
      /^charrnn: klingon is neither a file nor a base model: the one base model is tiny\.$/,
    );
  });

  test('charrnn serve serves a base model by name, and the base models as files for the page', async () => {
    const saved = process.env[BASE_MODELS_ENV];
    process.env[BASE_MODELS_ENV] = BASE;
    try {
      const models = await loadServedModels(['tiny'], [], 'reference');
      assert.equal(models[0].name, 'tiny');
      // The library's handle, in Node, takes the name as well.
      const handle = await CharRnnModel.load('tiny', { backend: 'reference' });
      assert.equal(handle.vocab.size, models[0].vocab.size);
      const app = await buildServer({ models });
      assert.deepEqual((await app.inject({ url: '/base-models/' })).json(), { models: ['tiny'] });
      const file = await app.inject({ url: '/base-models/tiny.safetensors' });
      assert.equal(file.statusCode, 200);
      assert.deepEqual(new Uint8Array(file.rawPayload), new Uint8Array(readFileSync(join(BASE, 'tiny.safetensors'))));
      for (const bad of ['klingon.safetensors', 'tiny', '..%2Ftiny.safetensors']) {
        const r = await app.inject({ url: `/base-models/${bad}` });
        assert.equal(r.statusCode, 404, bad);
        assert.match((r.json() as { error: { message: string } }).error.message, /^There is no base model /);
      }
      await app.close();
    } finally {
      if (saved === undefined) delete process.env[BASE_MODELS_ENV];
      else process.env[BASE_MODELS_ENV] = saved;
    }
  });

  test('the page fine-tunes through the library as the CLI does: the model kept, the recipe planned, one sentence for a bad file', async () => {
    const bytes = new Uint8Array(readFileSync(join(BASE, 'tiny.safetensors')));
    const files = new Map<string, Uint8Array>();
    const store = { save: (file: string, b: Uint8Array) => void files.set(file, b) };
    const request = { text: NEW.repeat(3), source: 'the pasted text', size: 'medium' as const, seconds: 3, from: { bytes, name: 'tiny' } };
    const run = await createFineTuneRun(request, referenceKernels('f32'), store);
    assert.deepEqual([run.settings.layers, run.settings.hidden, run.settings.emb], [1, 16, 8], "the model's size, not medium's");
    assert.equal(run.origin?.name, 'tiny');
    await assert.rejects(
      createFineTuneRun({ ...request, from: { bytes: new Uint8Array(10), name: 'junk.bin' } }, referenceKernels('f32'), store),
      /^CharrnnError: junk\.bin is not a valid safetensors file/,
    );
    await assert.rejects(
      createFineTuneRun({ ...request, text: 'The cat.\n' }, referenceKernels('f32'), store),
      /^CharrnnError: The text is too short for the medium size's batch 32 and the medium size's chunk length 64: /,
    );
  });

  test(
    'the shipped base model english resolves by name and loads',
    { skip: SHIPPED ? false : 'models/english.safetensors is not in the repository yet' },
    async () => {
      assert.ok(baseModelNames(PACKAGE_BASE_MODELS).includes('english'));
      const file = baseModelFile('english', PACKAGE_BASE_MODELS)!;
      const model = await CharRnnModel.load(readFileSync(file), { name: 'english', backend: 'reference' });
      assert.ok(model.vocab.size > 60);
      const { text } = await model.generate({ prime: 'The ', length: 50, seed: 1 });
      assert.equal([...text].length, 50);
    },
  );
});
