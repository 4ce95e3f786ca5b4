// A line model through the library: the model handle writes whole lines as
// `charrnn sample` does (sampleLines, the CLI's function), checked against a
// greedy line read off the handle's own feed / predict and against the
// running-text generator started from the end-of-line; the options a line model
// cannot take are refused with the CLI's sentence; and a prime is read and shown
// in the model's normalisation form.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { encodeLines } from '../src/data/line-examples.js';
import { LineBatcher } from '../src/data/line-batcher.js';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import { checkLineOptions } from '../src/generate/line-options.js';
import { sampleLines } from '../src/generate/lines.js';
import { GenerateOptionsError, type GenerateOptions } from '../src/generate/options.js';
import { sampleTexts } from '../src/generate/sample-texts.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { lineModelMetadata } from '../src/model/line-model.js';
import { encodeModel } from '../src/model/model-file.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { DEFAULT_OPTIMIZER } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';

const NAMES = [
  'Pinar',
  'Pina',
  'Pino',
  'Paola',
  'Paolo',
  'Nara',
  'Narin',
  'Lina',
  'Linus',
  'Olav',
  'Olga',
  'Rina',
  'Rino',
  'Ivar',
  'Ilona',
  'Anouk',
];
const EOL = '\n';
const kernels = referenceKernels('f32');
let lineModel: CharRnnModel;
let textModel: CharRnnModel;

/** A trained line model's file, as `charrnn train --lines` writes one (the weights, the vocabulary, the line metadata). */
function lineModelFile(lines: string[], vocab: Vocabulary, steps: number): Uint8Array {
  const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: 32, emb: 8, vocabSize: vocab.size, dropout: 0 }, kernels, { seed: 5 });
  const trainer = new Trainer(model, new LineBatcher(encodeLines(lines, vocab), 8, 1), {
    batch: 8,
    seq: 50,
    clip: 5,
    lrDecay: 1,
    lrDecayEvery: 0,
    optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.02 },
  });
  for (let i = 0; i < steps; i++) trainer.step();
  return encodeModel(model, vocab, lineModelMetadata(EOL, lines));
}

/** The greedy line after `prime`, one character at a time through the handle's feed and predict: not the generators' code. */
function greedyLine(m: CharRnnModel, prime: string, maxLength: number): string {
  m.reset();
  m.feed(EOL + prime);
  let line = '';
  while (line.length < maxLength) {
    const next = m.predict()[0].char;
    if (next === EOL) break;
    line += next;
    m.feed(next);
  }
  m.reset();
  return line;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GenerateOptionsError, String(e));
    return e.message;
  }
  assert.fail('accepted');
}

async function streamed(m: CharRnnModel, options: GenerateOptions & { maxLength?: number; novel?: boolean }): Promise<string> {
  let text = '';
  for await (const piece of m.stream(options)) text += piece;
  return text;
}

before(async () => {
  const vocab = Vocabulary.fromText(NAMES.join(EOL) + EOL);
  lineModel = await CharRnnModel.load(lineModelFile(NAMES, vocab, 150), { kernels });
  const plain = new CharRNN({ cell: 'gru', layers: 1, hidden: 8, emb: 4, vocabSize: vocab.size, dropout: 0 }, kernels, { seed: 2 });
  textModel = await CharRnnModel.load(encodeModel(plain, vocab), { kernels });
});

describe('CharRnnModel on a line model', () => {
  it('generate writes the greedy line after the prime, as the CLI does, the prime not repeated', async () => {
    assert.notEqual(lineModel.lineModel, null);
    const r = await lineModel.generate({ greedy: true, prime: 'Pi' });
    assert.equal(r.text, greedyLine(lineModel, 'Pi', 200));
    assert.ok(r.text.length > 0 && !r.text.includes(EOL), JSON.stringify(r.text));
    assert.deepEqual(r.texts, [r.text]);
    assert.deepEqual(r.finishReasons, ['stop']);
    assert.equal(r.usage.promptChars, 3, 'the end-of-line and the prime');
    assert.equal(r.usage.generatedChars, r.text.length + 1, 'the line and its end-of-line');
    // What charrnn sample prints: the prime, then the line.
    const cli = sampleLines(lineModel.model, lineModel.vocab, { count: 1, eol: EOL, maxLength: 200, prime: 'Pi', greedy: true });
    assert.deepEqual(cli.lines, ['Pi' + r.text]);
  });

  it('generate draws line i with seed + i, each the running-text generator started from the end-of-line and stopped at the next', async () => {
    const o = { prime: 'Na', count: 6, seed: 7, temperature: 1.3 };
    const r = await lineModel.generate(o);
    const reference = sampleTexts(lineModel.model, lineModel.vocab, {
      prime: EOL + 'Na',
      stop: EOL,
      length: 200,
      seed: 7,
      count: 6,
      temperature: 1.3,
    });
    assert.deepEqual(r.texts, reference);
    assert.equal(r.text, r.texts[0]);
    const cli = sampleLines(lineModel.model, lineModel.vocab, { ...o, eol: EOL, maxLength: 200 });
    assert.deepEqual(
      cli.lines,
      r.texts.map(t => 'Na' + t),
    );
    // The defaults are the CLI's too: seed 1, temperature 1, lines of at most 200 characters.
    const plain = await lineModel.generate({ count: 4 });
    assert.deepEqual(
      plain.texts.map(t => t),
      sampleLines(lineModel.model, lineModel.vocab, { count: 4, eol: EOL, maxLength: 200 }).lines,
    );
    assert.ok(plain.texts.every(t => t.length > 0 && !t.includes(EOL)));
  });

  it('maxLength cuts a line, novel keeps only lines not in the training text', async () => {
    const cut = await lineModel.generate({ greedy: true, prime: 'Pi', maxLength: 2 });
    assert.equal(cut.text, greedyLine(lineModel, 'Pi', 2));
    assert.equal(cut.text.length, 2);
    assert.deepEqual(cut.finishReasons, ['length']);
    const novel = await lineModel.generate({ count: 5, temperature: 1.5, novel: true, seed: 3 });
    assert.deepEqual(
      novel.texts,
      sampleLines(lineModel.model, lineModel.vocab, {
        count: 5,
        eol: EOL,
        maxLength: 200,
        temperature: 1.5,
        seed: 3,
        novel: lineModel.lineModel!.lineSet,
      }).lines,
    );
    assert.equal(new Set(novel.texts).size, novel.texts.length);
    for (const t of novel.texts) assert.ok(!NAMES.includes(t), `${t} is a training line`);
  });

  it('stream gives the line generate gives, piece by piece', async () => {
    for (const o of [
      { greedy: true, prime: 'Pi' },
      { prime: 'O', seed: 9 },
      { seed: 4, temperature: 2 },
      { seed: 2, novel: true, temperature: 1.5 },
      { greedy: true, maxLength: 3 },
    ]) {
      const want = (await lineModel.generate(o)).text;
      assert.ok(want.length > 0);
      assert.equal(await streamed(lineModel, o), want, JSON.stringify(o));
    }
  });

  it("refuses the running-text options with the CLI's sentence, and the line options on a model of running text", async () => {
    const reasons = { length: 20, stop: 'a', endOfLine: true, beam: 2 };
    for (const [option, value] of Object.entries(reasons)) {
      const want = `The model is a line model: it samples whole lines, each ending where the model ends it (at most maxLength characters), so leave ${option} out.`;
      assert.equal(await refusal(lineModel.generate({ [option]: value })), want);
      assert.equal(await refusal(streamed(lineModel, { [option]: value })), want);
    }
    assert.equal(await refusal(lineModel.generate({ maxLength: 0 })), 'maxLength must be a whole number from 1 to 100000000, not 0.');
    assert.equal(await refusal(lineModel.generate({ novel: 'yes' as unknown as boolean })), 'novel must be true or false, not yes.');
    assert.equal(await refusal(streamed(lineModel, { count: 2 })), 'stream makes one sampled text; use generate for count or beam.');
    for (const option of ['maxLength', 'novel'] as const) {
      const message = `${option} applies to line models (trained with lines), and the model is not one.`;
      assert.equal(await refusal(textModel.generate({ [option]: option === 'novel' ? true : 5 })), message);
      assert.equal(await refusal(streamed(textModel, { [option]: option === 'novel' ? true : 5 })), message);
    }
    // A model of running text takes them all, as before.
    assert.equal((await textModel.generate({ length: 7, stop: 'zzz', seed: 3 })).text.length, 7);
  });

  it("the shared rule speaks the CLI's flags with the CLI's sentences", () => {
    const flags = { length: '--length', endOfLine: '--end-of-line', maxLength: '--max-length', novel: '--novel', lines: '--lines' };
    assert.throws(() => checkLineOptions({ length: 20 }, true, 'names/model.safetensors', flags), {
      message:
        'names/model.safetensors is a line model: it samples whole lines, each ending where the model ends it (at most --max-length characters), so leave --length out.',
    });
    assert.throws(() => checkLineOptions({ endOfLine: false }, true, 'm', flags), /leave --end-of-line out\.$/);
    assert.throws(() => checkLineOptions({ novel: true }, false, 'prose/model.safetensors', flags), {
      message: '--novel applies to line models (trained with --lines), and prose/model.safetensors is not one.',
    });
    checkLineOptions({ prime: 'a', count: 3, seed: 2, greedy: true, maxLength: 4, novel: false }, true);
    checkLineOptions({ length: 3, stop: 'x', beam: 2, endOfLine: true }, false);
  });
});

describe("sampleLines reads the prime once, in the model's normalisation form", () => {
  it('a prime typed in NFC shows its é on a model trained in NFD, as the model read it', () => {
    const lines = ['Flabe\u0301r', 'Voltwiao', 'Be\u0301la'];
    const vocab = new Vocabulary(Vocabulary.fromText(lines.join(EOL) + EOL).chars, 'nfd');
    const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: 8, emb: 4, vocabSize: vocab.size, dropout: 0 }, kernels, { seed: 1 });
    const request = { count: 3, eol: EOL, maxLength: 6, seed: 2 };
    for (const [prime, unknown] of [
      ['Flab\u00e9', 'skip'],
      ['Flab\u00e9', 'error'],
      ['Fla\u00dfb\u00e9', 'skip'],
    ] as const) {
      const r = sampleLines(model, vocab, { ...request, prime, unknown });
      assert.equal(r.prime, 'Flabe\u0301', prime);
      assert.equal(r.usage.promptChars, 1 + 6, 'the end-of-line and the six code points the model read');
      // What follows the prime is what the generator gives from the same start.
      const reference = sampleTexts(model, vocab, { prime: EOL + 'Flabe\u0301', stop: EOL, length: 6, seed: 2, count: 3 });
      assert.deepEqual(
        r.lines,
        reference.map(t => 'Flabe\u0301' + t),
      );
    }
  });
});
