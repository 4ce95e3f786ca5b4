// Fine-tuning in the page, in a real browser: `charrnn serve` serves the page
// and a base model (CHARRNN_BASE_MODELS names a folder holding a small trained
// model, `tiny`); the page starts a run from it on pasted text, and the model it
// saves records the base model's name and the SHA-256 of its file (checked with
// node:crypto), keeps its characters' ids and samples in the CLI. A model file
// opened as the starting point is described; a file that is no model gets one
// sentence. Skips, saying why, where no Chromium is installed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { decodeModel } from '../../src/model/model-file.js';
import { modelOrigin } from '../../src/model/origin.js';
import { loadCorpus } from '../../src/node/read-corpus.js';
import { cliRunner, MAIN } from '../cli-runner.js';
import { launchChromium, NO_CHROMIUM } from './chromium.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PAGE_DIR = join(ROOT, 'web', 'dist');
const skip = NO_CHROMIUM;
if (skip) console.log(`# web-fine-tune.test: skipped: ${skip}`);

/** A free port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise(resolve => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('fine-tuning in the page', { skip }, () => {
  let dir = '';
  let browser: Browser;
  let page: Page;
  let serve: ChildProcess | null = null;
  let url = '';
  const at = (...parts: string[]): string => join(dir, ...parts);
  const base = (): string => at('base', 'tiny.safetensors');
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(join(PAGE_DIR, 'index.html')), 'web/dist holds no page: run npm run build:web first');
    dir = mkdtempSync(join(tmpdir(), 'charrnn-web-fine-tune-'));
    mkdirSync(at('base'));
    // The starting model: a few steps of a small run on Moby-Dick (any model will do; its quality is not the point).
    const { ok } = cliRunner(() => dir);
    writeFileSync(at('moby.txt'), loadCorpus([], 'moby-dick').text.slice(0, 30_000));
    await ok([
      'train',
      'moby.txt',
      '--layers',
      '1',
      '--hidden',
      '32',
      '--emb',
      '16',
      '--steps',
      '20',
      '--out',
      'run',
      '--quiet',
      '--no-plot',
    ]);
    copyFileSync(at('run', 'model.safetensors'), base());
    const port = String(await freePort());
    serve = spawn(process.execPath, [MAIN, 'serve', base(), '--port', port, '--host', '127.0.0.1', '--static', PAGE_DIR], {
      stdio: 'ignore',
      env: { ...process.env, CHARRNN_BASE_MODELS: at('base') },
    });
    url = `http://127.0.0.1:${port}/`;
    for (
      let i = 0;
      i < 100 &&
      !(await fetch(`${url}healthz`).then(
        r => r.ok,
        () => false,
      ));
      i++
    )
      await new Promise(r => setTimeout(r, 100));
    browser = await launchChromium();
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', e => pageErrors.push(e.message));
    await page.goto(url);
    await page.locator('#tab-train').click();
  });

  after(async () => {
    await browser?.close();
    serve?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the server lists its base models, and serves each file as it is', async () => {
    assert.deepEqual(await (await fetch(`${url}base-models/`)).json(), { models: ['tiny'] });
    const served = new Uint8Array(await (await fetch(`${url}base-models/tiny.safetensors`)).arrayBuffer());
    assert.deepEqual(served, new Uint8Array(readFileSync(base())));
    const missing = await fetch(`${url}base-models/klingon.safetensors`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: { message: string } }).error.message, /^There is no base model klingon\.safetensors/);
  });

  test('a file that is not a model, opened as the starting point, gets one sentence', async () => {
    writeFileSync(at('junk.safetensors'), 'not a model');
    await page.locator('#start-from').selectOption('file');
    await page.locator('#start-file').setInputFiles(at('junk.safetensors'));
    const error = page.locator('#train-error');
    await error.waitFor();
    assert.match(await error.innerText(), /^junk\.safetensors is not a valid safetensors file: [^\n]*\.$/);
    // Training without the file opened says so too.
    await page.locator('#train-text').fill('some text\n'.repeat(100));
    await page.locator('#train-button').click();
    assert.equal(await error.innerText(), 'Open the model file to start from, or choose another starting point.');
  });

  test('started from the base model, the page fine-tunes it on pasted text; the saved model records its origin', async () => {
    await page.locator('#start-from').selectOption('base:tiny');
    await page.locator('#start-info').filter({ hasText: 'fine-tunes it' }).waitFor();
    assert.match(await page.locator('#start-info').innerText(), /^tiny: LSTM 1×32, \d+ characters · the run fine-tunes it/);
    assert.equal(await page.locator('input[name="size"][value="small"]').isDisabled(), true, 'the size is the model’s');
    // A text with a character the base model lacks (ß).
    const text = `${loadCorpus([], 'moby-dick').text.slice(100_000, 120_000)}\nStraße.\n`;
    await page.locator('#train-text').fill(text);
    await page.locator('#train-button').click();
    assert.equal(await page.locator('#train-error').isHidden(), true);
    // Validated from the first step, then again after some training.
    await page.waitForFunction(() => document.querySelectorAll('#samples li').length >= 2, undefined, { timeout: 60_000 });
    await page.locator('#download:not([disabled])').waitFor();
    // It may have stopped already, at its best point (patience); else it is stopped here.
    if (await page.locator('#train-stop').isEnabled()) await page.locator('#train-stop').click();
    await page.locator('#train-status[data-state="done"]').waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
    const saved = at('fine-tuned.safetensors');
    await download.saveAs(saved);
    const model = decodeModel(readFileSync(saved), saved);
    const start = decodeModel(readFileSync(base()), 'tiny');
    assert.deepEqual(modelOrigin(model.metadata), {
      name: 'tiny',
      sha256: createHash('sha256').update(readFileSync(base())).digest('hex'),
    });
    assert.deepEqual(model.vocab.chars.slice(0, start.vocab.size), start.vocab.chars, "the base model's characters keep their ids");
    assert.ok(model.vocab.chars.includes('ß'), 'the new character got a row');
    assert.deepEqual([model.config.layers, model.config.hidden, model.config.emb], [1, 32, 16]);
    const r = await cliRunner(() => dir).cli(['sample', saved, '--length', '40', '--seed', '1']);
    assert.equal(r.status, 0, r.stderr);
  });

  test('no error escaped the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
