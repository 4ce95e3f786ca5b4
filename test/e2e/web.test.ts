// The playground in a real browser: Debian's Chromium driven by playwright-core
// over the built page (web/dist, `npm run build:web`), served with the
// cross-origin isolation headers by `charrnn serve` when this build has it,
// else by a small static server here (127.0.0.1 only). A model file from disk
// generates offline in the page, the same text as `charrnn sample` on the same
// engine; a small model trains in a Web Worker until its loss goes down, and
// its downloaded file is sampled by the CLI; bad files get their sentence.
// The Inside view draws a pasted (or the last generated) text with the
// colours and guesses of the library's trace on the same engine, and a
// generation's characters are coloured by the surprise the trace gives.
// Skips, saying why, where no Chromium is installed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { CharRNN } from '../../src/model/charrnn.js';
import { encodeModel } from '../../src/model/model-file.js';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { Vocabulary } from '../../src/text/vocabulary.js';
import { loadCorpus } from '../../src/node/read-corpus.js';
import { CharRnnModel } from '../../src/generate/char-rnn-model.js';
import { loadKernels } from '../../src/node/backend.js';
import { surpriseColor } from '../../src/report/explain-scales.js';
import { cliRunner, MAIN } from '../cli-runner.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PAGE_DIR = join(ROOT, 'web', 'dist');
const LIB_DIR = join(ROOT, 'dist', 'browser');
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(p => existsSync(p));
/** Where screenshots go when asked (CHARRNN_SCREENSHOTS=DIR): outside the repository. */
const SHOTS = process.env.CHARRNN_SCREENSHOTS;

const skip = CHROMIUM === undefined ? 'no Chromium here (apt-get install -y chromium, or set CHROMIUM_PATH)' : false;
if (skip) console.log(`# web.test: skipped: ${skip}`);

// The CLI's text to compare the page's with: in-process (the page and its server are the real processes here).
const { cli } = cliRunner(() => process.cwd());

/** Whether this build has `charrnn serve`; without it the page comes from a static server here, and the serve test fails. */
const SERVE = CHROMIUM !== undefined && /^ *serve\b/m.test((await cli(['--help'])).stdout);

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

/**
 * The files of `dir` (and `pages`, path to HTML) with the headers that make a
 * page cross-origin isolated, as `charrnn serve` sends them.
 */
function staticServer(dir: string, pages: Record<string, string> = {}): Promise<{ server: Server; url: string }> {
  const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    if (Object.hasOwn(pages, path)) return void response.writeHead(200, { 'content-type': 'text/html', ...isolation }).end(pages[path]);
    let file = normalize(join(dir, path));
    if (!file.startsWith(dir + sep) && file !== dir) return void response.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...isolation });
    response.end(readFileSync(file));
  });
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/` });
    }),
  );
}

/** `charrnn serve MODEL --static web/dist` on a free port; resolves when /healthz answers. */
async function startServe(model: string): Promise<{ child: ChildProcess; url: string }> {
  const { server, url: probe } = await staticServer(PAGE_DIR); // only to pick a free port
  const port = new URL(probe).port;
  await new Promise(resolve => server.close(resolve));
  const child = spawn(process.execPath, [MAIN, 'serve', model, '--port', port, '--host', '127.0.0.1', '--static', PAGE_DIR], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}healthz`)).ok) return { child, url };
    } catch {
      /* not up yet */
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error('charrnn serve did not answer /healthz within 10 s');
}

describe('the playground in Chromium', { skip }, () => {
  let browser: Browser;
  let page: Page;
  let dir: string;
  let url: string;
  let server: Server | null = null;
  let serve: ChildProcess | null = null;
  const modelFile = (): string => join(dir, 'tiny.safetensors');
  let modelChars: readonly string[] = [];
  /** The tiny model on the wasm engine in this process: the reference for what the page computes on its own. */
  const wasmModel = async (): Promise<CharRnnModel> => {
    const model = await CharRnnModel.load(readFileSync(modelFile()), { kernels: await loadKernels('wasm') });
    modelChars = model.chars;
    return model;
  };
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(join(PAGE_DIR, 'index.html')), 'web/dist holds no page: run npm run build:web first');
    dir = mkdtempSync(join(tmpdir(), 'charrnn-web-'));
    // A small model file (random weights suffice: the test compares the page's text with the CLI's).
    const vocab = Vocabulary.fromText('the cat sat on the mat. a dog ran far away!\n');
    const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: 16, emb: 8, dropout: 0, vocabSize: vocab.size }, referenceKernels(), {
      seed: 3,
    });
    writeFileSync(modelFile(), encodeModel(model, vocab));
    if (SERVE) ({ child: serve, url } = await startServe(modelFile()));
    else ({ server, url } = await staticServer(PAGE_DIR));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', e => pageErrors.push(e.message));
    await page.goto(url);
  });

  after(async () => {
    await browser?.close();
    server?.close();
    serve?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the page is cross-origin isolated (threads for training)', async () => {
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    assert.match(await page.locator('#engine').innerText(), /threads/);
  });

  test('a model file from disk generates in the page, streaming, the same text as charrnn sample on the wasm engine', async () => {
    await page.locator('#model-file').setInputFiles(modelFile());
    await page.locator('#model-info').filter({ hasText: 'runs in this browser' }).waitFor();
    await page.locator('#prime').fill('the ');
    await page.locator('#seed').fill('7');
    await setRange(page, '#temperature', 0.9);
    await setRange(page, '#top-p', 0.95);
    await setRange(page, '#length', 60);
    await page.locator('#generate-button').click();
    await page.locator('#output[data-state="done"]').waitFor();
    const text = await page.locator('#output').innerText();
    const r = await cli([
      'sample',
      modelFile(),
      '--prime',
      'the ',
      '--length',
      '60',
      '--seed',
      '7',
      '--temperature',
      '0.9',
      '--top-p',
      '0.95',
      '--backend',
      'wasm',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(text, r.stdout.replace(/\n$/, ''));
    assert.equal([...text].length, 4 + 60);
  });

  test('a long generation streams and stops on Stop', async () => {
    await page.locator('#seed').fill('');
    await setRange(page, '#length', 5000);
    await page.locator('#generate-button').click();
    // Mid-stream (some text is there and more is coming), Stop is pressed: from the page itself, at the
    // first frame with 400 characters, since the tiny model writes thousands a second, faster than a round trip.
    const stateAtStop = await page.evaluate(
      () =>
        new Promise<string>(resolve => {
          const output = document.getElementById('output')!;
          const look = (): void => {
            if ((output.textContent ?? '').length <= 400) return void requestAnimationFrame(look);
            const state = output.dataset.state ?? '';
            document.getElementById('generate-stop')!.click();
            resolve(state);
          };
          look();
        }),
    );
    assert.equal(stateAtStop, 'streaming');
    await page.locator('#output[data-state="stopped"]').waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'generate-streaming.png') });
    const stoppedAt = (await page.locator('#output').innerText()).length;
    assert.ok(stoppedAt < 4 + 5000, `stopped at ${stoppedAt} characters, not before the end`);
    await page.waitForTimeout(300);
    assert.equal((await page.locator('#output').innerText()).length, stoppedAt, 'text kept coming after Stop');
    assert.match(await page.locator('#generate-status').innerText(), /stopped/);
  });

  test('a file that is not a model gets one sentence on the page', async () => {
    await page.locator('#model-file').setInputFiles({
      name: 'notes.safetensors',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from('these are my notes, not a model'),
    });
    const error = page.locator('#generate-error');
    await error.waitFor();
    assert.match(await error.innerText(), /^notes\.safetensors is not a valid safetensors file: .+\.$/);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'generate-bad-model.png') });
  });

  test("a prime the model cannot read: the page's sentence names the page's checkbox; ticked, the page generates", async () => {
    await page.locator('#model-select').selectOption('local:tiny.safetensors');
    await page.locator('#prime').fill('the Zoo');
    await page.locator('#seed').fill('7');
    await setRange(page, '#length', 20);
    await page.locator('#generate-button').click();
    await page.locator('#output[data-state="error"]').waitFor();
    const error = page.locator('#generate-error');
    assert.equal(
      await error.innerText(),
      'The prime has a character the model has never seen: "Z" (U+005A) (tick “Skip characters the model has never seen” to drop them).',
    );
    await page.locator('#skip-unknown').check();
    await page.locator('#generate-button').click();
    await page.locator('#output[data-state="done"]').waitFor();
    assert.equal(await error.isHidden(), true);
    await page.locator('#skip-unknown').uncheck();
    await page.locator('#prime').fill('the ');
  });

  test('through charrnn serve: a server model generates in the page', async () => {
    assert.ok(SERVE, 'charrnn --help lists no serve command: this build cannot serve the page');
    const option = page.locator('#model-select option[value^="server:"]');
    await option.first().waitFor({ state: 'attached' });
    await page.locator('#model-select').selectOption((await option.first().getAttribute('value')) ?? '');
    const model = (await page.locator('#model-select').inputValue()).slice('server:'.length);
    await page.locator('#prime').fill('the ');
    await page.locator('#seed').fill('5');
    await setRange(page, '#temperature', 0.7);
    await setRange(page, '#top-p', 0.9);
    await setRange(page, '#length', 60);
    await page.locator('#generate-button').click();
    await page.locator('#output[data-state="done"]').waitFor();
    const text = await page.locator('#output').innerText();
    // The streamed pieces make the text the server gives in one JSON answer for the same request.
    const answer = await fetch(`${url}v1/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, prime: 'the ', length: 60, seed: 5, temperature: 0.7, top_p: 0.9 }),
    });
    assert.equal(answer.status, 200);
    assert.equal(text, `the ${((await answer.json()) as { text: string }).text}`);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'generate-server.png') });
    assert.equal([...text].length, 4 + 60);
  });

  test("the Inside view needs a model in the browser, and says so for a server's model", async () => {
    await page.locator('#tab-inside').click();
    // The model is chosen on the Generate tab, hidden here: as a user would have, before coming to this one.
    // A server's model where the page is served by charrnn serve, else no model at all: the same sentence.
    const server = page.locator('#model-select option[value^="server:"]');
    await chooseModel(page, (await server.count()) > 0 ? ((await server.first().getAttribute('value')) ?? '') : '');
    await page.locator('#inside-input').fill('the cat');
    await page.locator('#inside-button').click();
    const error = page.locator('#inside-error');
    await error.waitFor();
    assert.equal(await error.innerText(), 'The Inside view runs the model in this browser: open a model file on the Generate tab first.');
    await chooseModel(page, 'local:tiny.safetensors');
  });

  test("the Inside view colours a pasted text by the trace's surprise, and a hover lists its top guesses", async () => {
    const text = 'the cat sat on the 猫 mat.\nZ dog ran far away!';
    await page.locator('#tab-inside').click();
    await page.locator('#inside-input').fill(text);
    await page.locator('#inside-button').click();
    await page.locator('#inside-view[data-state="done"]').waitFor();
    assert.equal(await page.locator('#inside-error').isHidden(), true);
    const trace = (await wasmModel()).trace(text, { topK: 5 });
    const chars = await page.$$eval('#inside-view .inside-text .ch', els =>
      els.map(e => ({ text: e.textContent ?? '', background: getComputedStyle(e).backgroundColor })),
    );
    assert.deepEqual(
      chars.map(c => c.text),
      [...text].map(c => (c === '\n' ? '⏎' : c)),
    );
    chars.forEach((c, i) =>
      assert.equal(c.background, Number.isNaN(trace.surprise[i]) ? 'rgba(0, 0, 0, 0)' : surpriseColor(trace.surprise[i]), `character ${i}`),
    );
    // Characters the model never saw are marked and have no guesses; the one after 猫 is predicted from the state before it.
    const unknown = await page.$$eval('#inside-view .inside-text .ch.unknown', els => els.map(e => e.textContent));
    assert.deepEqual(unknown, ['猫', 'Z']);
    for (const i of [4, text.indexOf('猫') + 1, text.indexOf('\n'), text.indexOf('Z') + 1]) {
      await page.locator(`#inside-view .ch[data-i="${i}"]`).hover();
      await page.locator(`#inside-view .inside-tooltip[data-index="${i}"]:not([hidden])`).waitFor();
      const rows = await page.$$eval('#inside-view .inside-tooltip tr', trs =>
        trs.map(r => [(r as HTMLElement).dataset.char ?? '', Number((r as HTMLElement).dataset.p)] as const),
      );
      assert.deepEqual(
        rows.map(r => r[0]),
        Array.from(trace.topIds.subarray(i * 5, i * 5 + 5), id => modelChars[id]),
        `the guesses at ${i}`,
      );
      rows.forEach((r, j) => assert.ok(Math.abs(r[1] - trace.topP[i * 5 + j]) < 1e-6, `guess ${j} at ${i}: ${r[1]}`));
    }
    await page.locator('#inside-view .inside-chart-saturation svg').waitFor();
    await page.locator('#inside-view .inside-chart-histogram svg').waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'inside.png'), fullPage: true });
  });

  test("a generation in the page colours each new character by the surprise the library's trace gives", async () => {
    await page.locator('#tab-generate').click();
    await page.locator('#surprise-colour').check();
    await page.locator('#prime').fill('the ');
    await page.locator('#seed').fill('9');
    await setRange(page, '#length', 5000);
    await page.locator('#generate-button').click();
    // Coloured while it streams, not only once it is done.
    await page.waitForFunction(() => {
      const output = document.getElementById('output')!;
      return output.dataset.state === 'streaming' && output.querySelector('span[data-s]') !== null;
    });
    await page.locator('#output[data-state="done"][data-surprise="done"]').waitFor();
    const text = await page.locator('#output').innerText();
    const drawn = await page.$$eval('#output > span:not(.prime)', els =>
      els.map(e => ({
        text: e.textContent ?? '',
        s: Number((e as HTMLElement).dataset.s),
        background: getComputedStyle(e).backgroundColor,
      })),
    );
    assert.equal(drawn.map(d => d.text).join(''), text.slice(4));
    assert.equal(drawn.length, 5000);
    const trace = (await wasmModel()).trace(text);
    drawn.forEach((d, j) => {
      const expected = trace.surprise[4 + j];
      assert.ok(Math.abs(d.s - expected) < 1e-5, `character ${j} (${d.text}): ${d.s} against ${expected}`);
      assert.equal(d.background, surpriseColor(d.s));
    });
  });

  test('the Inside view takes the last generated text; an empty text gets one sentence', async () => {
    const generated = await page.locator('#output').innerText();
    await page.locator('#tab-inside').click();
    await page.locator('#inside-last').click();
    await page.locator('#inside-view[data-state="done"]').waitFor();
    assert.equal(await page.locator('#inside-input').inputValue(), generated);
    // The first 2,000 characters are drawn (the library's default); the headline counts them all.
    assert.equal([...generated].length, 5004);
    assert.equal(await page.locator('#inside-view .inside-text .ch').count(), 2000);
    assert.match(await page.locator('#inside-view .inside-note').first().innerText(), /^The first 2,000 of 5,004 characters are shown/);
    await page.locator('#inside-input').fill('');
    await page.locator('#inside-button').click();
    const error = page.locator('#inside-error');
    await error.waitFor();
    assert.equal(await error.innerText(), 'The text is empty: paste a text, or use the last generated one.');
  });

  test('a binary file dropped on the training text gets one sentence', async () => {
    await page.locator('#tab-train').click();
    await page.locator('#drop-zone').evaluate(zone => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])], 'picture.png'));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    const error = page.locator('#train-error');
    await error.waitFor();
    assert.match(
      await error.innerText(),
      /^picture\.png looks like a binary file, not text: it has a NUL byte at byte offset 8\b[^\n]*\.$/,
    );
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'train-bad-file.png') });
  });

  test('an empty text gets one sentence, from the training worker', async () => {
    await page.locator('#train-text').fill('   ');
    await page.locator('#train-button').click();
    const error = page.locator('#train-error');
    await error.filter({ hasText: 'white space' }).waitFor();
    assert.equal(
      await error.innerText(),
      'The pasted text holds only white space; a run needs some text (paste it, or drop a text file) to train on.',
    );
    await page.locator('#train-status[data-state="done"]').waitFor();
  });

  test('a small model trains in the page until its loss goes down; the downloaded file samples in the CLI', async () => {
    const text = loadCorpus([], 'moby-dick').text.slice(20_000, 60_000);
    await page.locator('#train-text').fill(text);
    await page.locator('input[name="size"][value="small"]').check();
    await page.locator('#train-button').click();
    assert.equal(await page.locator('#train-error').isHidden(), true);
    // Until the smoothed loss is 1 nat/char below the first step's (ln V ≈ 4.2 at the start) and a validation is drawn.
    await page.waitForFunction(
      () => {
        const s = document.getElementById('train-status')!.dataset;
        return s.loss !== undefined && Number(s.loss) < Number(s.firstLoss) - 1 && document.querySelectorAll('#samples li').length > 0;
      },
      undefined,
      { timeout: 60_000 },
    );
    await page.locator('#chart svg').waitFor();
    await page.locator('#download:not([disabled])').waitFor(); // the model is saved as it trains, not only at the end
    assert.match(await page.locator('#train-status').innerText(), /threads/);
    if (SHOTS) {
      await page.waitForTimeout(600); // the chart's next drawing
      await page.screenshot({ path: join(SHOTS, 'train-chart.png'), fullPage: true });
    }
    await page.locator('#train-stop').click();
    await page.locator('#train-status[data-state="done"]').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#train-status').innerText(), /stopped from the page/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
    assert.equal(download.suggestedFilename(), 'model.safetensors');
    const saved = join(dir, 'model.safetensors');
    await download.saveAs(saved);
    const r = await cli(['sample', saved, '--length', '80', '--seed', '1']);
    assert.equal(r.status, 0, r.stderr);
    const sample = r.stdout.replace(/\n$/, '');
    assert.equal([...sample].length, 80);
    const known = new Set(text);
    assert.deepEqual(
      [...sample].filter(c => !known.has(c)),
      [],
      'the sample has characters the text has not',
    );
  });

  test('the library bundle (charrnn/browser) has no Node built-ins, and generates in a page on threaded wasm kernels as the CLI does', async () => {
    const bundle = readFileSync(join(LIB_DIR, 'charrnn.js'), 'utf8');
    assert.doesNotMatch(bundle, /from\s*["']node:|import\(["']node:|\brequire\(/);
    const lib = await staticServer(LIB_DIR, {
      '/': '<!doctype html><script type="module">import * as charrnn from "./charrnn.js"; window.charrnn = charrnn;</script>',
    });
    try {
      const libPage = await page.context().newPage();
      libPage.on('pageerror', e => pageErrors.push(e.message));
      await libPage.goto(lib.url);
      await libPage.waitForFunction(() => 'charrnn' in window);
      const bytes = [...readFileSync(modelFile())];
      const got = await libPage.evaluate(async bytes => {
        const charrnn = (window as unknown as { charrnn: typeof import('../../src/browser/index.js') }).charrnn;
        const kernels = await charrnn.loadBrowserKernels({ threads: 2 });
        const model = await charrnn.CharRnnModel.load(new Uint8Array(bytes), { kernels });
        const { text } = await model.generate({ prime: 'a ', length: 50, seed: 11, temperature: 1.1 });
        let bad = '';
        try {
          await charrnn.CharRnnModel.load(new Uint8Array(8), { kernels, name: 'zeros.bin' });
        } catch (e) {
          bad = e instanceof charrnn.CharrnnError ? e.message : `not a CharrnnError: ${String(e)}`;
        }
        return { text, threads: kernels.threads, bad };
      }, bytes);
      await libPage.close();
      assert.equal(got.threads, 2);
      const r = await cli([
        'sample',
        modelFile(),
        '--prime',
        'a ',
        '--length',
        '50',
        '--seed',
        '11',
        '--temperature',
        '1.1',
        '--backend',
        'wasm',
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal('a ' + got.text, r.stdout.replace(/\n$/, ''));
      assert.match(got.bad, /^zeros\.bin .+\.$/);
    } finally {
      lib.server.close();
    }
  });

  test('no error escaped the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});

/** Chooses a model in the Generate tab's list as a user would (a change event after the value), from any tab. */
async function chooseModel(page: Page, value: string): Promise<void> {
  await page.locator('#model-select').evaluate((el, v) => {
    (el as HTMLSelectElement).value = v;
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

/** Sets a range input as a user dragging it would (an input event after the value). */
async function setRange(page: Page, selector: string, value: number): Promise<void> {
  await page.locator(selector).evaluate((el, v) => {
    (el as HTMLInputElement).value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}
