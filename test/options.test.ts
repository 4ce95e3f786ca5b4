// The generation options' one set of schemas: every bad value and every conflict is
// refused with a typed error of one sentence, through the library's entry points too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { DEFAULT_LENGTH, GenerateOptionsError, parseGenerateOptions } from '../src/generate/options.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { sampleTexts } from '../src/generate/sample-texts.js';
import { Vocabulary } from '../src/text/vocabulary.js';

/** One sentence: a capital or an option name first, one full stop at the end, no line breaks. */
function assertOneSentence(message: string): void {
  assert.match(message, /^[^\n]+[.]$/, message);
  assert.doesNotMatch(message.slice(0, -1), /[.!?] [A-Z]/, `more than one sentence: ${message}`);
}

function refusal(input: unknown, names = {}): GenerateOptionsError {
  try {
    parseGenerateOptions(input, names);
  } catch (e) {
    assert.ok(e instanceof GenerateOptionsError, String(e));
    assert.ok(e instanceof CharrnnError);
    assertOneSentence(e.message);
    return e;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

describe('parseGenerateOptions', () => {
  it('fills in the defaults', () => {
    assert.deepEqual(parseGenerateOptions({}), {
      prime: '',
      length: DEFAULT_LENGTH,
      temperature: 1,
      topK: 0,
      topP: 1,
      greedy: false,
      seed: 1,
      count: 1,
      stop: [],
      endOfLine: false,
      beam: 0,
      unknown: 'error',
    });
    assert.deepEqual(parseGenerateOptions(undefined), parseGenerateOptions({}));
    const s = parseGenerateOptions({ stop: 'END', endOfLine: true, length: 0, seed: 0xffffffff, topP: 1, topK: 0 });
    assert.deepEqual(s.stop, ['END', '\n', '\r\n']);
    assert.equal(s.length, 0);
  });

  it('refuses every value that is not what it must be, naming the option and the value', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ temperature: 0 }, /^temperature must be a number greater than 0 and at most 1000000, not 0\.$/],
      [{ temperature: 1e9 }, /^temperature must be a number greater than 0 and at most 1000000, not 1000000000\.$/],
      [{ temperature: -1 }, /temperature .* not -1\./],
      [{ temperature: NaN }, /temperature .* not NaN\./],
      [{ temperature: Infinity }, /temperature/],
      [{ temperature: '1' }, /temperature .* not "1"\./],
      [{ length: 2.5 }, /^length must be a whole number from 0 to .*, not 2\.5\.$/],
      [{ length: -1 }, /length/],
      [{ topK: 1.5 }, /topK/],
      [{ topK: -2 }, /topK/],
      [{ topK: 2 ** 60 }, /^topK must be a whole number from 0 \(all characters\) to 9007199254740991, not 1152921504606847000\.$/],
      [{ topP: 0 }, /topP/],
      [{ topP: 1.01 }, /topP/],
      [{ seed: -1 }, /seed/],
      [{ seed: 2 ** 32 }, /seed/],
      [{ count: 0 }, /count/],
      [{ count: 1.5 }, /count/],
      [{ beam: 0 }, /beam/],
      [{ stop: '' }, /stop/],
      [{ stop: ['a', ''] }, /stop must be .*, not \["a",""\]\./],
      [{ stop: 3 }, /stop/],
      [{ greedy: 'yes' }, /greedy/],
      [{ endOfLine: 1 }, /endOfLine/],
      [{ unknown: 'drop' }, /unknown must be 'error' or 'skip'/],
      [{ prime: 5 }, /prime/],
    ];
    for (const [input, pattern] of bad) assert.match(refusal(input).message, pattern, JSON.stringify(input));
    assert.equal(refusal({ topP: 2 }).option, 'topP');
  });

  it('says the true range of every option: a value just past each end is refused, the end itself accepted', () => {
    // Every bound a requirement sentence names, as [option, last good value, first bad value].
    const edges: [string, unknown, unknown][] = [
      ['temperature', 1e6, 1e6 * (1 + Number.EPSILON)],
      ['temperature', Number.MIN_VALUE, 0],
      ['length', 100_000_000, 100_000_001],
      ['length', 0, -1],
      ['topK', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1],
      ['topK', 0, -1],
      ['topP', 1, 1 + Number.EPSILON],
      ['topP', Number.MIN_VALUE, 0],
      ['seed', 4294967295, 4294967296],
      ['seed', 0, -1],
      ['count', 10_000, 10_001],
      ['count', 1, 0],
      ['beam', 1000, 1001],
      ['beam', 1, 0],
      ['stop', Array(64).fill('x'), Array(65).fill('x')],
    ];
    for (const [option, good, bad] of edges) {
      parseGenerateOptions({ [option]: good });
      const message = refusal({ [option]: bad }).message;
      const numbers = (message.split(', not ')[0].match(/\d+/g) ?? []).map(Number);
      if (typeof good === 'number') assert.ok(numbers.includes(good === Number.MIN_VALUE ? 0 : good), `${message} does not name ${good}`);
      else assert.ok(numbers.includes(64), message);
    }
  });

  it('refuses an unknown option, listing the known ones; and input that is not an object', () => {
    assert.match(
      refusal({ temprature: 1 }).message,
      /^Unknown generation option 'temprature' \(the options are prime, length, temperature, .*\)\.$/,
    );
    for (const v of [null, 5, 'x', []]) refusal(v);
  });

  it('refuses conflicting options in one sentence: greedy with sampling options, beam with sampling options or count', () => {
    assert.match(
      refusal({ greedy: true, temperature: 0.5 }).message,
      /^greedy always takes the most likely character, so it cannot go with temperature\.$/,
    );
    assert.match(refusal({ greedy: true, topK: 3, topP: 0.5 }).message, /cannot go with topK or topP\./);
    assert.match(
      refusal({ beam: 3, temperature: 0.5 }).message,
      /^beam searches for the most likely continuations, so it cannot go with temperature\.$/,
    );
    for (const o of [
      { beam: 2, greedy: true },
      { beam: 2, seed: 3 },
      { beam: 2, count: 2 },
      { beam: 2, topP: 0.5 },
    ])
      refusal(o);
    // Options that agree are fine.
    parseGenerateOptions({ greedy: false, temperature: 0.5 });
    parseGenerateOptions({ greedy: true, seed: 4, count: 2, stop: '.' });
    parseGenerateOptions({ beam: 2, count: 1, stop: ['.'], length: 10 });
  });

  it("speaks a face's names: the CLI's flags", () => {
    const names = { temperature: '--temperature', greedy: '--greedy', topK: '--top-k' };
    assert.match(refusal({ temperature: 0 }, names).message, /^--temperature must be/);
    assert.match(refusal({ greedy: true, topK: 2 }, names).message, /^--greedy .* cannot go with --top-k\.$/);
  });

  it('guards the library functions: temperature 0, -1 and length 2.5 are refused, not run', () => {
    const vocab = Vocabulary.fromText('abc\n');
    const m = new CharRNN({ cell: 'lstm', layers: 1, hidden: 4, emb: 2, vocabSize: vocab.size, dropout: 0 }, referenceKernels('f32'));
    for (const o of [{ temperature: 0 }, { temperature: -1 }, { length: 2.5 }]) {
      assert.throws(() => sampleTexts(m, vocab, { length: 5, ...o }), GenerateOptionsError);
      assert.throws(() => sampleTexts(m, vocab, { length: 5, count: 2, ...o }), GenerateOptionsError);
    }
  });
});
