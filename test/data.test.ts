// The protocol's split and batches, against streams written out by hand and
// split sizes computed by Python (int(n * (1 - f)), as torch_ref.py does).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { holdOut, splitCorpus, SPREAD_WINDOW, spreadSplit } from '../src/data/split.js';
import { evaluationChunks, StreamBatcher, windowChunks } from '../src/data/streams.js';

/** ids 0..n-1, so that every value names its own position in the data. */
const iota = (n: number): Uint16Array => Uint16Array.from({ length: n }, (_, i) => i);

describe('splitCorpus', () => {
  // [n, valFrac, train length]; train lengths printed by python3: int(n * (1 - f)).
  const cases: [number, number, number][] = [
    [10, 0.1, 9],
    [99, 0.1, 89],
    [1000, 0.1, 900],
    [1115394, 0.1, 1003854],
    [12345677, 0.1, 11111109],
    [99, 0.05, 94],
    [1115394, 0.05, 1059624],
    [12345677, 0.05, 11728393],
    [99, 0.3, 69],
    [1115394, 0.3, 780775],
    [12345677, 0.3, 8641973],
  ];
  for (const [n, f, nTrain] of cases) {
    it(`n = ${n}, valFrac = ${f}: ${nTrain} train characters as in Python`, () => {
      const ids = new Uint32Array(n);
      const { train, val } = splitCorpus(ids, f);
      assert.equal(train.length, nTrain);
      assert.equal(val.length, n - nTrain);
    });
  }

  it('returns views of the same buffer, train first', () => {
    const ids = iota(20);
    const { train, val } = splitCorpus(ids, 0.25);
    assert.deepEqual([...train], [...ids.slice(0, 15)]);
    assert.deepEqual([...val], [15, 16, 17, 18, 19]);
    assert.equal(train.buffer, ids.buffer);
    assert.equal(val.buffer, ids.buffer);
    ids[16] = 999;
    assert.equal(val[1], 999);
  });

  it('valFrac 0 keeps everything for training; out-of-range fractions are user errors', () => {
    const { train, val } = splitCorpus(iota(7), 0);
    assert.equal(train.length, 7);
    assert.equal(val.length, 0);
    for (const bad of [1, -0.1, NaN, 1.5]) assert.throws(() => splitCorpus(iota(7), bad), CharrnnError);
  });
});

describe('StreamBatcher', () => {
  // n = 23, B = 2, T = 3: L = floor(22 / 2) = 11.
  // stream 0: inputs 0..10, targets 1..11; stream 1: inputs 11..21, targets 12..22.
  // stepsPerEpoch = floor(11 / 3) = 3; the 4th chunk would need columns 9..11 > 11, so it wraps.
  // Time-major: x[t * B + b].
  const chunk0 = { x: [0, 11, 1, 12, 2, 13], y: [1, 12, 2, 13, 3, 14] };
  const chunk1 = { x: [3, 14, 4, 15, 5, 16], y: [4, 15, 5, 16, 6, 17] };
  const chunk2 = { x: [6, 17, 7, 18, 8, 19], y: [7, 18, 8, 19, 9, 20] };

  it('cuts n = 23, B = 2, T = 3 into the hand-written chunks, wrapping after 3 with a reset', () => {
    const s = new StreamBatcher(iota(23), 2, 3);
    assert.equal(s.L, 11);
    assert.equal(s.stepsPerEpoch, 3);
    assert.equal(s.epoch, 0);
    const x = new Int32Array(6),
      y = new Int32Array(6);
    const expected = [chunk0, chunk1, chunk2, chunk0, chunk1, chunk2, chunk0];
    const resets = [true, false, false, true, false, false, true];
    expected.forEach((c, k) => {
      const { reset } = s.next(x, y);
      assert.equal(reset, resets[k], `chunk ${k} reset`);
      assert.deepEqual([...x], c.x, `chunk ${k} x`);
      assert.deepEqual([...y], c.y, `chunk ${k} y`);
      assert.equal(s.epoch, (k + 1) / 3);
    });
  });

  it('fills plain arrays too', () => {
    const s = new StreamBatcher(iota(23), 2, 3);
    const x: number[] = [],
      y: number[] = [];
    s.next(x, y);
    s.next(x, y);
    assert.deepEqual(x, chunk1.x);
    assert.deepEqual(y, chunk1.y);
  });

  it('wraps exactly when pos + T > L (T divides L: no chunk is lost)', () => {
    // n = 13, B = 2, T = 3: L = 6, chunks at columns 0 and 3, then back to 0.
    const s = new StreamBatcher(iota(13), 2, 3);
    const x = new Int32Array(6),
      y = new Int32Array(6);
    const got: [boolean, number[]][] = [];
    for (let k = 0; k < 3; k++) got.push([s.next(x, y).reset, [...x]]);
    assert.deepEqual(got, [
      [true, [0, 6, 1, 7, 2, 8]],
      [false, [3, 9, 4, 10, 5, 11]],
      [true, [0, 6, 1, 7, 2, 8]],
    ]);
    assert.deepEqual([...y], [1, 7, 2, 8, 3, 9]);
  });

  it('resumes exactly from getState / setState', () => {
    const a = new StreamBatcher(iota(101), 4, 5);
    const x = new Int32Array(20),
      y = new Int32Array(20);
    for (let k = 0; k < 7; k++) a.next(x, y);
    const state = a.getState();
    // L = 25, 5 chunks per pass: the 7th chunk is the 2nd of the second pass (columns 5..9), so the next starts at 10.
    assert.deepEqual(state, { pos: 10, chunks: 7 });
    const b = new StreamBatcher(iota(101), 4, 5);
    b.setState(JSON.parse(JSON.stringify(state)) as typeof state);
    assert.equal(b.epoch, a.epoch);
    const xa = new Int32Array(20),
      ya = new Int32Array(20),
      xb = new Int32Array(20),
      yb = new Int32Array(20);
    for (let k = 0; k < 6; k++) {
      assert.deepEqual(b.next(xb, yb), a.next(xa, ya));
      assert.deepEqual(xb, xa);
      assert.deepEqual(yb, ya);
    }
    assert.throws(() => b.setState({ pos: 26, chunks: 0 }), CharrnnError);
    assert.throws(() => b.setState({ pos: 1.5, chunks: 0 }), CharrnnError);
    assert.throws(() => b.setState({ pos: 0, chunks: -1 }), CharrnnError);
  });

  it('needs at least B * T + 1 characters, and says so', () => {
    assert.throws(
      () => new StreamBatcher(iota(6), 2, 3),
      (e: unknown) => e instanceof CharrnnError && /needs at least 7 characters and has 6\./.test(e.message),
    );
    const s = new StreamBatcher(iota(7), 2, 3);
    assert.equal(s.stepsPerEpoch, 1);
    assert.throws(() => new StreamBatcher(iota(0), 1, 1), CharrnnError);
    assert.throws(() => new StreamBatcher(iota(10), 0, 3), CharrnnError);
    assert.throws(() => new StreamBatcher(iota(10), 2, 1.5), CharrnnError);
  });
});

describe('evaluationChunks', () => {
  it('n = 23, B = 2, T = 4: chunks of 4, 4 and a last one of 3 (L = 11)', () => {
    const chunks = [...evaluationChunks(iota(23), 2, 4)];
    assert.deepEqual(
      chunks.map(c => c.T),
      [4, 4, 3],
    );
    assert.deepEqual([...chunks[0].x], [0, 11, 1, 12, 2, 13, 3, 14]);
    assert.deepEqual([...chunks[1].y], [5, 16, 6, 17, 7, 18, 8, 19]);
    assert.deepEqual([...chunks[2].x], [8, 19, 9, 20, 10, 21]);
    assert.deepEqual([...chunks[2].y], [9, 20, 10, 21, 11, 22]);
  });

  it('T dividing L gives no short chunk', () => {
    assert.deepEqual(
      [...evaluationChunks(iota(23), 2, 11)].map(c => c.T),
      [11],
    );
  });

  it('B = 1 covers the whole text: every character but the first is a target once', () => {
    const chunks = [...evaluationChunks(iota(7), 1, 4)];
    assert.deepEqual(
      chunks.map(c => [c.T, [...c.x], [...c.y]]),
      [
        [4, [0, 1, 2, 3], [1, 2, 3, 4]],
        [2, [4, 5], [5, 6]],
      ],
    );
  });

  it('says when the text is too short, at the call', () => {
    assert.throws(
      () => evaluationChunks(iota(2), 2, 4),
      (e: unknown) => e instanceof CharrnnError && /needs at least 3 characters and has 2\./.test(e.message),
    );
    assert.equal([...evaluationChunks(iota(3), 2, 4)].length, 1);
    assert.throws(() => evaluationChunks(iota(30), 2, 0), CharrnnError);
  });
});

describe('spreadSplit (--val-split spread)', () => {
  it('holds out floor(n * f) rounded down to whole windows, one per segment, and trains on the rest in order', () => {
    const n = 50_000;
    const ids = iota(n);
    const { train, val, windows } = spreadSplit(ids, 0.05, 7);
    // 2500 held out -> windows of SPREAD_WINDOW (1000): 2 windows, 2000 characters.
    assert.equal(windows, 2);
    assert.equal(val.length, 2 * SPREAD_WINDOW);
    assert.equal(train.length, n - 2 * SPREAD_WINDOW);
    // Every character is in exactly one of the two, each part in text order.
    const seen = new Uint8Array(n);
    for (const v of [...train, ...val]) seen[v]++;
    assert.ok(seen.every(c => c === 1));
    for (let i = 1; i < train.length; i++) assert.ok(train[i] > train[i - 1]);
    // Each window is a contiguous stretch inside its own segment (n / K = 25,000 characters).
    for (let k = 0; k < windows; k++) {
      const w = val.subarray(k * SPREAD_WINDOW, (k + 1) * SPREAD_WINDOW);
      for (let i = 1; i < w.length; i++) assert.equal(w[i], w[i - 1] + 1);
      assert.ok(w[0] >= k * 25_000 && w[w.length - 1] < (k + 1) * 25_000, `window ${k} starts at ${w[0]}`);
    }
    // Seeded: the same seed gives the same windows, another seed other ones.
    assert.deepEqual(spreadSplit(ids, 0.05, 7).val, val);
    assert.notDeepEqual(spreadSplit(ids, 0.05, 8).val, val);
  });

  it('a short text gets one shorter window; nothing to hold out leaves the text whole', () => {
    const { train, val, windows } = spreadSplit(iota(100), 0.1, 1);
    assert.deepEqual([windows, val.length, train.length], [1, 10, 90]);
    assert.equal(spreadSplit(iota(100), 0, 1).windows, 0);
    assert.equal(spreadSplit(iota(100), 0, 1).train.length, 100);
    assert.throws(() => spreadSplit(iota(100), 1, 1), CharrnnError);
  });

  it("holdOut tail is splitCorpus exactly (the benchmark protocol's split)", () => {
    const ids = iota(1234);
    const tail = holdOut(ids, 0.1, 'tail', 1);
    assert.deepEqual({ train: tail.train, val: tail.val }, splitCorpus(ids, 0.1));
    assert.equal(tail.windows, 0);
  });
});

describe('windowChunks', () => {
  it('one stream per window, targets never crossing into the next window (3 windows of 5, T = 3)', () => {
    const data = iota(15);
    const chunks = [...windowChunks(data, 3, 3)];
    // Each window has 4 inputs: columns 0-2, then a last chunk of 1.
    assert.deepEqual(
      chunks.map(c => c.T),
      [3, 1],
    );
    // Time-major [T, B]: window b's inputs are 5b .. 5b + 3, targets one later.
    assert.deepEqual([...chunks[0].x], [0, 5, 10, 1, 6, 11, 2, 7, 12]);
    assert.deepEqual([...chunks[0].y], [1, 6, 11, 2, 7, 12, 3, 8, 13]);
    assert.deepEqual([...chunks[1].x], [3, 8, 13]);
    assert.deepEqual([...chunks[1].y], [4, 9, 14]);
    assert.throws(() => windowChunks(iota(14), 3, 3), /not 3 windows/);
  });
});
