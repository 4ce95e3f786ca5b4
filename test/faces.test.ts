// One behaviour in every face: the same requests go through the CLI (runCli
// in-process), the library (CharRnnModel of charrnn/node), the server (POST
// /v1/generate, fastify's inject) and the page's library bundle
// (dist/browser/charrnn.js, loaded in Node with the reference engine passed
// in, since its wasm workers are the browser's), on model files trained here:
// running text and lines, LSTM and GRU, NFC and NFD. Each request must give
// the same texts, or the same refusal, in every face, and the row's expected
// outcome (it generates, or its refusal says what the row says): one row per
// request, one column per face, printed as the test's diagnostic. A last column checks the
// streamed forms of the same request (the server's Server-Sent Events, the
// library's and the bundle's stream) give the same texts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { CharRnnModel as CharRnnModelClass } from '../src/generate/char-rnn-model.js';
import type { LineOptions } from '../src/generate/line-options.js';
import { MAX_LENGTH, type GenerateOptions } from '../src/generate/options.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRnnModel } from '../src/node/index.js';
import { buildServer } from '../src/server/app.js';
import { loadServedModels } from '../src/server/served-models.js';
import { cliRunner, TINY } from './cli-runner.js';
import { sseEvents } from './server-fixtures.js';

type Request = GenerateOptions & LineOptions;

/** What a face answered: the texts (the prime left out) and why each ended, or the sentence it refused with. */
type Answer = { texts: string[]; finishReasons: string[] } | { refused: string };

interface ModelFile {
  name: string;
  flags: string[];
  lines: boolean;
  /** The normalisation form its text was trained in, for the prime as read. */
  form: 'NFC' | 'NFD';
}

const MODELS: ModelFile[] = [
  { name: 'prose-lstm-nfc', flags: ['--cell', 'lstm', '--normalize', 'nfc'], lines: false, form: 'NFC' },
  { name: 'prose-gru-nfd', flags: ['--cell', 'gru', '--normalize', 'nfd'], lines: false, form: 'NFD' },
  { name: 'names-gru-nfc', flags: ['--cell', 'gru', '--normalize', 'nfc', '--lines'], lines: true, form: 'NFC' },
  { name: 'names-lstm-nfd', flags: ['--cell', 'lstm', '--normalize', 'nfd', '--lines'], lines: true, form: 'NFD' },
];

/**
 * A request's expected outcome in every face: 'ok' (it generates), or what its
 * refusal says (matched against the sentence with each face's spelling of the
 * options and the model made one: see meaning()).
 */
type Outcome = 'ok' | RegExp;

const LINE_MODEL_ONLY = /^\w+ applies to line models\b.*MODEL is not one\.$/;
const NOT_ON_A_LINE_MODEL = (option: string): RegExp =>
  new RegExp(`^MODEL is a line model: it samples whole lines\\b.*, so leave ${option} out\\.$`);
const NEVER_SEEN = /^The prime has a character the model has never seen: "€" \(U\+20AC\)/;

/** The requests, in the library's spelling (each face spells them its own way), and what each must give. */
const PROSE_REQUESTS: [string, Request, Outcome][] = [
  ['greedy, prime', { greedy: true, prime: 'the ', length: 40 }, 'ok'],
  ['seed, temperature', { prime: 'le café ', seed: 7, temperature: 0.8, length: 40 }, 'ok'],
  ['count 3', { seed: 2, count: 3, length: 20 }, 'ok'],
  ['stop', { seed: 3, stop: ['e'], length: 60 }, 'ok'],
  ['end of line', { seed: 4, endOfLine: true, length: 300 }, 'ok'],
  ['beam 3', { beam: 3, prime: 'th', length: 8 }, 'ok'],
  ['top-k, top-p', { seed: 5, topK: 3, topP: 0.9, length: 30 }, 'ok'],
  ['unknown skip', { greedy: true, prime: 'th€e', unknown: 'skip', length: 20 }, 'ok'],
  ['unknown prime char', { prime: 'th€e' }, NEVER_SEEN],
  ['temperature 0', { temperature: 0 }, /^temperature must be a number greater than 0 and at most 1000000, not 0\.$/],
  ['temperature 1e9', { temperature: 1e9 }, /^temperature must be a number greater than 0 and at most 1000000, not 1000000000\.$/],
  ['length -1', { length: -1 }, /^length must be a whole number from 0 to 100000000, not -1\.$/],
  ['length 2.5', { length: 2.5 }, /^length must be a whole number from 0 to 100000000, not 2\.5\.$/],
  ['count 0', { count: 0 }, /^count must be a whole number from 1 to 10000, not 0\.$/],
  ['top-p 1.5', { topP: 1.5 }, /^topP must be a number greater than 0 and at most 1, not 1\.5\.$/],
  ['seed 2^32', { seed: 2 ** 32 }, /^seed must be a whole number from 0 to 4294967295, not 4294967296\.$/],
  ['beam 1001', { beam: 1001 }, /^beam must be a whole number from 1 to 1000, not 1001\.$/],
  [
    'greedy + temperature',
    { greedy: true, temperature: 0.5 },
    /^greedy always takes the most likely character, so it cannot go with temperature\.$/,
  ],
  ['beam + count', { beam: 2, count: 2 }, /^beam searches for the most likely continuations, so it cannot go with count\.$/],
  ['novel on prose', { novel: true }, LINE_MODEL_ONLY],
  ['max length on prose', { maxLength: 5 }, LINE_MODEL_ONLY],
];

const LINE_REQUESTS: [string, Request, Outcome][] = [
  ['greedy, prime', { greedy: true, prime: 'Ma' }, 'ok'],
  ['seed, count 4', { seed: 5, count: 4 }, 'ok'],
  ['normalised prime, skip', { seed: 3, count: 2, prime: 'Hél€', unknown: 'skip' }, 'ok'],
  ['novel, count 3', { seed: 1, count: 3, novel: true }, 'ok'],
  ['max length 3', { seed: 2, count: 2, maxLength: 3 }, 'ok'],
  ['temperature 0.7', { seed: 9, temperature: 0.7 }, 'ok'],
  ['beam on lines', { beam: 2 }, NOT_ON_A_LINE_MODEL('beam')],
  ['length on lines', { length: 12 }, NOT_ON_A_LINE_MODEL('length')],
  ['stop on lines', { stop: ['a'] }, NOT_ON_A_LINE_MODEL('stop')],
  ['end of line on lines', { endOfLine: true }, NOT_ON_A_LINE_MODEL('endOfLine')],
  ['max length 0', { maxLength: 0 }, /^maxLength must be a whole number from 1 to 100000000, not 0\.$/],
  ['temperature 0', { temperature: 0 }, /^temperature must be a number greater than 0 and at most 1000000, not 0\.$/],
  ['count 0', { count: 0 }, /^count must be a whole number from 1 to 10000, not 0\.$/],
  ['unknown prime char', { prime: 'Ma€' }, NEVER_SEEN],
];

/** The CLI's flag for each option. */
const FLAGS: Record<keyof Request, string> = {
  prime: '--prime',
  length: '--length',
  temperature: '--temperature',
  topK: '--top-k',
  topP: '--top-p',
  greedy: '--greedy',
  seed: '--seed',
  count: '--count',
  stop: '--stop',
  endOfLine: '--end-of-line',
  beam: '--beam',
  unknown: '--unknown',
  maxLength: '--max-length',
  novel: '--novel',
};
/** The server's field for each option. */
const FIELDS: Record<keyof Request, string> = {
  prime: 'prime',
  length: 'length',
  temperature: 'temperature',
  topK: 'top_k',
  topP: 'top_p',
  greedy: 'greedy',
  seed: 'seed',
  count: 'count',
  stop: 'stop',
  endOfLine: 'end_of_line',
  beam: 'beam',
  unknown: 'unknown',
  maxLength: 'max_length',
  novel: 'novel',
};

const PROSE =
  'The old man sat by the sea. He drank his café noir and read the paper.\nThe waves came in; the gulls cried.\n' +
  'Renée walked along the shore, and the wind was cold.\nThere is a café where the fishermen meet at dawn.\n';
const NAMES = [
  'Marie',
  'Marc',
  'Renée',
  'René',
  'Chloé',
  'Zoé',
  'André',
  'Anna',
  'Hélène',
  'Martin',
  'Mathéo',
  'Léa',
  'Manon',
  'Noé',
  'Emma',
  'Hugo',
  'Louise',
  'Jules',
  'Inès',
  'Théo',
  'Jade',
  'Lucas',
  'Maël',
  'Rose',
  'Gabriel',
  'Alice',
  'Raphaël',
  'Anaïs',
  'Adèle',
  'Léon',
];

let dir: string;
const { cli, ok } = cliRunner(() => dir, { CHARRNN_BACKEND: 'reference' });
let server: FastifyInstance;
const library = new Map<string, CharRnnModelClass>();
const page = new Map<string, CharRnnModelClass>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-faces-'));
  writeFileSync(join(dir, 'prose.txt'), PROSE.repeat(12));
  writeFileSync(join(dir, 'names.txt'), NAMES.join('\n') + '\n');
  for (const m of MODELS) {
    await ok([
      'train',
      m.lines ? 'names.txt' : 'prose.txt',
      ...TINY,
      ...m.flags,
      '--steps',
      '200',
      '--val-every',
      '0',
      '--sample-length',
      '0',
      '--out',
      m.name,
    ]);
  }
  const kernels = referenceKernels('f32');
  // The page's library: the bundle the page ships, built by scripts/build.mjs (npm test builds it first).
  const bundle = (await import(new URL('../browser/charrnn.js', import.meta.url).href)) as { CharRnnModel: typeof CharRnnModelClass };
  for (const m of MODELS) {
    const bytes = new Uint8Array(readFileSync(path(m)));
    library.set(m.name, await CharRnnModel.load(bytes, { kernels, name: path(m) }));
    page.set(m.name, await bundle.CharRnnModel.load(bytes, { kernels, name: path(m) }));
  }
  // The library's limits, so that a range is said the same way (a server's own lower limits are its operator's choice, set with serve's flags).
  server = await buildServer({
    models: await loadServedModels(
      MODELS.map(path),
      MODELS.map(m => m.name),
      'reference',
    ),
    limits: { maxLength: MAX_LENGTH, maxCount: 10_000, maxBeam: 1000 },
  });
});
after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const path = (m: ModelFile): string => join(dir, m.name, 'model.safetensors');

/** The prime as a model reads it: in its normalisation form, characters it never saw dropped (unknown: 'skip'). */
function primeAsRead(m: ModelFile, prime: string, chars: readonly string[]): string {
  return [...prime.normalize(m.form)].filter(c => chars.includes(c)).join('');
}

async function viaCli(m: ModelFile, request: Request): Promise<Answer> {
  const args = ['sample', path(m), '--json', '--backend', 'reference'];
  for (const [k, v] of Object.entries(request) as [keyof Request, unknown][]) {
    if (v === true) args.push(FLAGS[k]);
    else if (Array.isArray(v)) for (const s of v) args.push(FLAGS[k], String(s));
    else args.push(FLAGS[k], String(v));
  }
  const r = await cli(args);
  if (r.status !== 0) {
    assert.ok(r.status === 1 || r.status === 2, `a refusal exits 1 (a bad prime) or 2 (a bad option): ${r.status}, ${r.stderr}`);
    assert.match(r.stderr, /^charrnn: [^\n]+\n$/, 'one line on stderr');
    return { refused: r.stderr.slice('charrnn: '.length, -1) };
  }
  const out = JSON.parse(r.stdout) as { texts?: string[]; finish_reasons?: string[]; lines?: string[] };
  if (!m.lines) return { texts: out.texts!, finishReasons: out.finish_reasons! };
  // The CLI prints each line whole, the prime as the model read it first.
  const prime = primeAsRead(m, request.prime ?? '', library.get(m.name)!.chars);
  for (const line of out.lines!)
    assert.ok(line.startsWith(prime), `the CLI's line ${JSON.stringify(line)} starts with the prime as read, ${JSON.stringify(prime)}`);
  return { texts: out.lines!.map(l => l.slice(prime.length)), finishReasons: [] };
}

/** The names of CharrnnError and its subclasses a generation can throw. */
const REFUSALS = new Set(['CharrnnError', 'GenerateOptionsError', 'UnknownCharactersError']);

async function viaHandle(handle: CharRnnModelClass, request: Request): Promise<Answer> {
  try {
    const r = await handle.generate(request);
    return { texts: r.texts, finishReasons: r.finishReasons };
  } catch (e) {
    // A refusal is a CharrnnError or one of its subclasses; the bundle has its own copies of the classes, so by name.
    if (e instanceof Error && REFUSALS.has(e.name)) return { refused: e.message };
    throw e;
  }
}

async function viaServer(m: ModelFile, request: Request): Promise<Answer> {
  const body: Record<string, unknown> = { model: m.name };
  for (const [k, v] of Object.entries(request) as [keyof Request, unknown][]) body[FIELDS[k]] = v;
  const r = await server.inject({ method: 'POST', url: '/v1/generate', payload: body });
  const answer = r.json<{ texts: string[]; finish_reasons: string[]; error?: { message: string } }>();
  if (r.statusCode !== 200) {
    assert.equal(r.statusCode, 400, r.body);
    return { refused: answer.error!.message };
  }
  return { texts: answer.texts, finishReasons: answer.finish_reasons };
}

/** The texts of POST /v1/generate with stream: true: the pieces of each index joined (a text no piece came for is ''). */
async function viaServerStream(m: ModelFile, request: Request, count: number): Promise<string[]> {
  const body: Record<string, unknown> = { model: m.name, stream: true };
  for (const [k, v] of Object.entries(request) as [keyof Request, unknown][]) body[FIELDS[k]] = v;
  const r = await server.inject({ method: 'POST', url: '/v1/generate', payload: body });
  assert.equal(r.statusCode, 200, r.body);
  const texts: string[] = Array.from({ length: count }, () => '');
  for (const data of sseEvents(r.body)) {
    if (data === '[DONE]') continue;
    const event = JSON.parse(data) as { index?: number; text?: string };
    if (event.index !== undefined) texts[event.index] += event.text;
  }
  return texts;
}

/** The text of the library's stream (one text: not count or beam). */
async function viaHandleStream(handle: CharRnnModelClass, request: Request): Promise<string> {
  let text = '';
  for await (const piece of handle.stream(request)) text += piece;
  return text;
}

/**
 * A refusal's meaning: the sentence with each face's spelling of an option
 * (--top-k, top_k), of the line-mode setting (--lines) and of the model (its
 * path, 'the model', "the model 'x'") made one, and the face's own hint for
 * dropping unknown characters left out.
 */
function meaning(sentence: string): string {
  let s = sentence.replaceAll(dir, '');
  s = s.replace(/(?:\/[\w-]+\/model\.safetensors|[Tt]he model '[\w-]+'|[Tt]he model(?= is a line model|$| is not one))/g, 'MODEL');
  s = s.replace(/ \([^()]*drops them\)/, '');
  for (const k of Object.keys(FLAGS) as (keyof Request)[]) {
    s = s.replace(new RegExp(`(?<![\\w-])(${FLAGS[k]}|${FIELDS[k]})(?![\\w-])`, 'g'), k);
  }
  // The training setting that makes a line model, which a line option's refusal names: --lines in the CLI.
  s = s.replace(/(?<![\w-])--lines(?![\w-])/g, 'lines');
  return s;
}

/** What a row compares: the texts (lines: the line model's texts, finish reasons said only by faces that say them) or the refusal's meaning. */
function comparable(a: Answer, lines: boolean): string {
  if ('refused' in a) return `refused: ${meaning(a.refused)}`;
  return JSON.stringify(lines ? a.texts : a);
}

/** Why an answer is not the expected outcome, or null when it is. */
function outcomeFault(a: Answer, expected: Outcome): string | null {
  if (expected === 'ok') {
    if ('refused' in a) return `refused (${a.refused}) where it should generate`;
    return a.texts.length > 0 ? null : 'no texts';
  }
  if (!('refused' in a)) return `generated ${JSON.stringify(a.texts)} where it should refuse with ${expected}`;
  return expected.test(meaning(a.refused)) ? null : `refused with "${meaning(a.refused)}", not ${expected}`;
}

function cell(a: Answer): string {
  const text = 'refused' in a ? `✗ ${a.refused.replaceAll(dir, '…')}` : JSON.stringify(a.texts.length === 1 ? a.texts[0] : a.texts);
  return text.length > 30 ? `${text.slice(0, 29)}…` : text;
}

describe('one behaviour in every face', () => {
  for (const m of MODELS) {
    test(`${m.name}: the CLI, the library, the server and the page's bundle answer each request the same`, async t => {
      const requests = m.lines ? LINE_REQUESTS : PROSE_REQUESTS;
      const faces = ['CLI', 'library', 'server', 'page bundle'];
      const rows: string[][] = [];
      const disagreements: string[] = [];
      const unexpected: string[] = [];
      for (const [label, request, expected] of requests) {
        const answers = [
          await viaCli(m, request),
          await viaHandle(library.get(m.name)!, request),
          await viaServer(m, request),
          await viaHandle(page.get(m.name)!, request),
        ];
        // The streamed answers of the same request: the server's Server-Sent Events, and the library's stream for one text.
        let streamed = '–';
        const first = answers[1];
        if (!('refused' in first) && request.beam === undefined) {
          const sse = await viaServerStream(m, request, first.texts.length);
          const own =
            first.texts.length === 1
              ? [await viaHandleStream(library.get(m.name)!, request), await viaHandleStream(page.get(m.name)!, request)]
              : [];
          const same = JSON.stringify(sse) === JSON.stringify(first.texts) && own.every(t => t === first.texts[0]);
          if (!same)
            disagreements.push(
              `${label} streamed:\n  server SSE: ${JSON.stringify(sse)}\n  library, page stream: ${JSON.stringify(own)}\n  generate: ${JSON.stringify(first.texts)}`,
            );
          streamed = same ? '✓ same' : '✗ differs';
        }
        rows.push([label, ...answers.map(cell), streamed]);
        answers.forEach((a, i) => {
          const wrong = outcomeFault(a, expected);
          if (wrong !== null) unexpected.push(`${label}, ${faces[i]}: ${wrong}`);
        });
        const seen = answers.map(a => comparable(a, m.lines));
        if (seen.some(s => s !== seen[0])) disagreements.push(`${label}:\n${seen.map((s, i) => `  ${faces[i]}: ${s}`).join('\n')}`);
      }
      // A line per diagnostic, so that every reporter (spec, TAP) shows the table as a table.
      for (const line of table(`${m.name} (train ${m.flags.join(' ')})`, ['request', ...faces, 'streamed'], rows)) t.diagnostic(line);
      assert.deepEqual(disagreements, [], `faces that disagree:\n${disagreements.join('\n')}`);
      // Agreeing is not enough (every face could be wrong alike): each answer is the row's expected one.
      assert.deepEqual(unexpected, [], `answers other than expected:\n${unexpected.join('\n')}`);
    });
  }
});

function table(title: string, head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => [...r[i]].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c + ' '.repeat(widths[i] - [...c].length)).join(' │ ');
  return [title, line(head), widths.map(w => '─'.repeat(w)).join('─┼─'), ...rows.map(line)];
}
