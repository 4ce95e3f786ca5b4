// An exported model in a real browser: Debian's Chromium driven by
// playwright-core loads the ONNX file that `charrnn export-onnx` wrote with
// onnxruntime-web's wasm backend (test/fixtures/onnx-web/index.html, served here
// on 127.0.0.1 with ORT's files from node_modules) and generates greedily from
// the file alone; the text must be `charrnn sample --greedy`'s. Skips, saying
// why, where no Chromium is installed.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { cliRunner } from '../cli-runner.js';
import { CHROMIUM, launchChromium } from './chromium.js';
import { randomModelFile, ROOT } from '../onnx-helpers.js';

const ORT_DIR = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
const PAGE = join(ROOT, 'test', 'fixtures', 'onnx-web', 'index.html');
const PROTOBUF = join(ROOT, 'node_modules', 'protobufjs', 'dist', 'protobuf.min.js');

const skip =
  CHROMIUM === undefined
    ? 'no Chromium here (apt-get install -y chromium, or set CHROMIUM_PATH)'
    : !existsSync(join(ORT_DIR, 'ort.wasm.min.mjs'))
      ? 'onnxruntime-web is not installed (npm install)'
      : false;
if (skip) console.log(`# onnx-web.test: skipped: ${skip}`);

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

/** The page, protobufjs, ONNX Runtime's files under /ort/ and the models under /models/. */
function server(models: string): Promise<{ server: Server; url: string }> {
  const roots: [string, string][] = [
    ['/ort/', ORT_DIR],
    ['/models/', models],
  ];
  const s = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    let file: string | null = path === '/' ? PAGE : path === '/protobuf.min.js' ? PROTOBUF : null;
    for (const [prefix, dir] of roots) {
      if (!path.startsWith(prefix)) continue;
      const candidate = normalize(join(dir, path.slice(prefix.length)));
      if (candidate.startsWith(dir + sep)) file = candidate;
    }
    if (file === null || !existsSync(file) || !statSync(file).isFile()) return void response.writeHead(404).end('not found');
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise(resolve =>
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      resolve({ server: s, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/` });
    }),
  );
}

describe('an exported model on onnxruntime-web (wasm) in Chromium', { skip }, () => {
  let dir: string;
  let browser: Browser;
  let page: Page;
  let http: Server;
  const pageErrors: string[] = [];
  const { ok } = cliRunner(() => dir);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-onnx-web-'));
    let url: string;
    ({ server: http, url } = await server(dir));
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', e => pageErrors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, null, { timeout: 30_000 });
  });

  after(async () => {
    await browser?.close();
    http?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [cell, layers] of [
    ['lstm', 2],
    ['gru', 1],
  ] as const) {
    test(`${cell} x${layers}: the page's greedy text is charrnn sample --greedy's`, async () => {
      writeFileSync(join(dir, `${cell}.safetensors`), randomModelFile(cell, layers, { hidden: 32, emb: 8, seed: 6 }).bytes);
      await ok(['export-onnx', join(dir, `${cell}.safetensors`)]);
      const prime = 'The lazy 🙂 ';
      const length = 200;
      const expected = await ok(['sample', join(dir, `${cell}.safetensors`), '--greedy', '--prime', prime, '--length', String(length)]);
      const r = await page.evaluate(
        ([url, p, n]) =>
          (window as unknown as { generate(u: string, p: string, n: number): Promise<{ text: string; ortVersion: string }> }).generate(
            url,
            p,
            n,
          ),
        [`/models/${cell}.onnx`, prime, length] as const,
      );
      assert.deepEqual(pageErrors, []);
      assert.equal(r.ortVersion, '1.31.1', 'onnxruntime-web of package-lock.json');
      assert.equal(`${r.text}\n`, expected);
    });
  }
});
