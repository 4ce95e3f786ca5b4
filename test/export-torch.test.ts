// charrnn export-torch without PyTorch: the settings table (a run's settings
// -> settings.json, refusing what it does not know), what export-torch writes
// and prints, its bad input, and the Python program and launcher it copies
// checked by py_compile, pyflakes and sh -n. The runs under PyTorch are in
// test/e2e/export-torch.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { torchSettings, torchSettingsFile, type TorchRunFiles, type TorchSettings } from '../src/export/torch-settings.js';
import { lineModelMetadata } from '../src/model/line-model.js';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { cliRunner } from './cli-runner.js';
import { ok, PYTHON, PYTHON_FOLDER, TINY, workspace } from './export-torch-helpers.js';

const { at } = workspace();
/** charrnn in process, in the workspace: nothing here needs what only a process shows. */
const { cli } = cliRunner(() => at(), { CHARRNN_BACKEND: 'reference' });

describe('the Python that export-torch copies', () => {
  test('train_torch.py compiles and pyflakes finds nothing in it; run.sh is POSIX sh', () => {
    const program = join(PYTHON_FOLDER, 'train_torch.py');
    const out = mkdtempSync(join(tmpdir(), 'charrnn-py-compile-'));
    try {
      const checks: [string, string, string[]][] = [
        // py_compile into a folder of its own, so that nothing is written beside the program.
        [
          'py_compile',
          PYTHON,
          [
            '-c',
            'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)',
            program,
            join(out, 'train_torch.pyc'),
          ],
        ],
        ['pyflakes', PYTHON, ['-m', 'pyflakes', program]],
        ['sh -n', 'sh', ['-n', join(PYTHON_FOLDER, 'run.sh')]],
      ];
      for (const [what, cmd, args] of checks) {
        const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
        assert.ok(
          !r.error,
          `${cmd} cannot be run (${r.error?.message}): install python3 and python3-pyflakes (apt-get install -y python3-pyflakes), or set CHARRNN_PYTHON`,
        );
        assert.ok(
          !/No module named pyflakes/.test(r.stderr),
          `pyflakes is not installed for ${PYTHON}: apt-get install -y python3-pyflakes (or pip install pyflakes), or set CHARRNN_PYTHON`,
        );
        assert.equal(r.status, 0, `${what}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout + r.stderr, '', `${what} says something`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('export-torch: bad input (no PyTorch needed)', () => {
  test('a folder with no run, other text, and a setting the table does not know each get one sentence', async () => {
    mkdirSync(at('empty'));
    const none = await cli(['export-torch', 'empty', 'corpus.txt']);
    assert.equal(
      none.stderr,
      'charrnn: empty holds no charrnn run to export (it has no checkpoint.safetensors); give the --out folder of a charrnn train run.\n',
    );
    assert.equal(none.status, 1);

    ok(await cli(['train', 'corpus.txt', ...TINY, '--steps', '3', '--out', 'small']), 'train');
    const other = await cli(['export-torch', 'small', 'other.txt']);
    assert.equal(
      other.stderr,
      'charrnn: The text differs from the one the run in small was trained on, so it cannot be exported with it.\n',
    );
    // A file that is not the run's and not UTF-8: the run's own settings are used, so the advice is not another --encoding.
    writeFileSync(
      at('wrong.txt'),
      Uint8Array.from('Chère amie\n', c => c.charCodeAt(0)),
    );
    const wrong = await cli(['export-torch', 'small', 'wrong.txt']);
    assert.equal(
      wrong.stderr,
      'charrnn: wrong.txt is not valid UTF-8 text: the byte 0xE8 at offset 2 does not begin a valid UTF-8 sequence (bytes there: E8 72 65 20); ' +
        "export-torch reads the text with the run's own text settings (the run in small was trained on UTF-8 text), so this is not the text the run was trained on.\n",
    );
    assert.equal(wrong.status, 1);
    assert.match(ok(await cli(['export-torch', '--help']), 'help'), /no --encoding/);
    // The folder records its text (run.json): export finds it there; without that record it asks for the text.
    ok(await cli(['export-torch', 'small', '--to', 'small-export']), 'export from run.json');
    assert.ok(existsSync(at('small-export', 'train_torch.py')));
    // The program and its launcher are copied unchanged (run.sh executable); settings.json is the run's, by the table.
    for (const name of ['train_torch.py', 'run.sh'])
      assert.ok(readFileSync(at('small-export', name)).equals(readFileSync(join(PYTHON_FOLDER, name))), name);
    assert.equal(statSync(at('small-export', 'run.sh')).mode & 0o111, 0o111);
    const ckpt = decodeCheckpoint(readFileSync(at('small', 'checkpoint.safetensors')), 'c');
    const written = JSON.parse(readFileSync(at('small-export', 'settings.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(written, {
      // The text as the run recorded it (run.json: the file's full path).
      format: 'charrnn-torch-settings/1',
      summary: `a 1x32 LSTM on ${at('corpus.txt')}`,
      corpus: at('corpus.txt'),
      run_folder: '../small',
      ids_file: 'text.u16',
      ids_dtype: '<u2',
      ids_count: 600,
      text_hash: ckpt.run.textHash,
      eol_id: null,
      lines_file: null,
      ...torchSettings(ckpt.run.settings, 'small'),
    });
    assert.equal(written.hidden, 32);
    rmSync(at('small', 'run.json'));
    const noText = await cli(['export-torch', 'small']);
    assert.match(
      noText.stderr,
      /^charrnn: The run in small does not record its text: give the text files it was trained on, as for charrnn train --resume\.\n$/,
    );

    // A run from a newer charrnn, with a setting this export does not translate: refused by name, nothing written.
    const { tensors, metadata } = decodeSafetensors(readFileSync(at('small', 'checkpoint.safetensors')), 'ckpt');
    const training = JSON.parse(metadata.training) as { run: { settings: Record<string, unknown> } };
    training.run.settings.warmupSteps = 100;
    mkdirSync(at('newer'));
    writeFileSync(
      at('newer', 'checkpoint.safetensors'),
      encodeSafetensors(
        [...tensors].map(([name, t]) => ({ name, ...t })),
        { ...metadata, training: JSON.stringify(training) },
      ),
    );
    const newer = await cli(['export-torch', 'newer', 'corpus.txt']);
    assert.equal(
      newer.stderr,
      'charrnn: The run in newer uses --warmup-steps 100, which export-torch cannot carry over to PyTorch yet, so it is not exported.\n',
    );
    assert.ok(!existsSync(at('newer', 'torch')));
  });

  test('a line run exports its lines, each followed by the end-of-line, and the metadata entries of its model files', async () => {
    ok(await cli(['train', 'names.txt', '--lines', ...TINY, '--steps', '3', '--out', 'lines']), 'train');
    const said = ok(await cli(['export-torch', 'lines', 'names.txt']), 'export-torch');
    const chars = readFileSync(at('names.txt'), 'utf8').length; // names.txt: one name a line, no empty lines
    // What was written, and the one command that goes on from here.
    assert.equal(
      said,
      `wrote train_torch.py, run.sh, settings.json, text.u16 (${chars} characters, the lines each followed by the end-of-line) ` +
        'and lines.json to lines/torch; the run is at step 3. Continue it in N processes on this machine (e.g. one per GPU) with:\n  lines/torch/run.sh N --resume lines\n',
    );
    // A folder the shell would read otherwise is quoted, and a launcher in the working folder is named with ./ so the shell does not look it up on the PATH.
    cpSync(at('lines'), at('my lines'), { recursive: true });
    mkdirSync(at('out'));
    const inOut = cliRunner(() => at('out'), { CHARRNN_BACKEND: 'reference' });
    const quoted = await inOut.cli(['export-torch', join('..', 'my lines'), join('..', 'names.txt'), '--to', '.']);
    assert.match(ok(quoted, 'export-torch --to .'), / with:\n {2}\.\/run\.sh N --resume '\.\.\/my lines'\n$/);
    const vocab = decodeCheckpoint(readFileSync(at('lines', 'checkpoint.safetensors')), 'c').vocab;
    const ids = new Uint16Array(Uint8Array.from(readFileSync(at('lines', 'torch', 'text.u16'))).buffer);
    assert.equal(vocab.decode(ids), readFileSync(at('names.txt'), 'utf8'));
    // The entries charrnn's own model file of the run has (its end-of-line, and the set of lines --novel checks against).
    const model = decodeSafetensors(readFileSync(at('lines', 'model.safetensors')), 'model').metadata;
    assert.deepEqual(JSON.parse(readFileSync(at('lines', 'torch', 'lines.json'), 'utf8')), {
      lines: model.lines,
      lines_seen: model.lines_seen,
    });
    assert.deepEqual(
      lineModelMetadata(
        '\n',
        readFileSync(at('names.txt'), 'utf8')
          .split('\n')
          .filter(l => l !== ''),
      ),
      { lines: model.lines, lines_seen: model.lines_seen },
    );
    const settings = JSON.parse(readFileSync(at('lines', 'torch', 'settings.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      [settings.lines, settings.eol_id, settings.lines_file, settings.optimizer],
      [true, vocab.id('\n'), 'lines.json', 'adam'],
    );
  });

  test('the training techniques at their defaults add nothing to settings.json, and a run without them exports as one with them off', () => {
    const base = { cell: 'lstm', layers: 1, hidden: 32, emb: 16, batch: 4, seq: 8, lr: 2e-3 };
    const off = {
      lrSchedule: 'step',
      warmup: 0,
      lrMin: 0,
      scheduleSteps: 0,
      weightDecay: 0,
      ema: 0,
      embDropout: 0,
      valSplit: 'tail',
      lines: false,
    };
    const plain = torchSettings({ ...base, ...off }, 'r');
    assert.deepEqual(torchSettings(base, 'r'), plain);
    // Each one on gives the program the entry it branches on (the equivalence tests in test/e2e check what it does with them).
    const on: [Record<string, unknown>, Partial<TorchSettings>][] = [
      [{ warmup: 3 }, { warmup: 3 }],
      [
        { lrSchedule: 'cosine', scheduleSteps: 40, warmup: 4, lrMin: 1e-4 },
        { lr_schedule: 'cosine', cosine_steps: 36, warmup: 4, lr_min: 1e-4 },
      ],
      [{ lrSchedule: 'constant' }, { lr_schedule: 'constant' }],
      [{ weightDecay: 0.1 }, { weight_decay: 0.1 }],
      [{ ema: 0.9 }, { ema: 0.9 }],
      [{ embDropout: 0.1 }, { emb_dropout: 0.1 }],
      [
        {
          lrSchedule: 'cosine',
          scheduleSteps: 40,
          warmup: 2,
          scheduleReplans: [
            { at: 6, totalSteps: 30 },
            { at: 15, totalSteps: 24 },
          ],
        },
        {
          lr_schedule: 'cosine',
          cosine_steps: 38,
          warmup: 2,
          replans: [
            [4, 28],
            [13, 22],
          ],
        },
      ],
      [
        { optimizer: 'sgd', lrDecay: 0.5, lrDecayEvery: 15 },
        { optimizer: 'sgd', lr_decay: 0.5, lr_decay_every: 15 },
      ],
    ];
    for (const [setting, entries] of on)
      assert.deepEqual(torchSettings({ ...base, ...off, ...setting }, 'r'), { ...plain, ...entries }, JSON.stringify(setting));
  });

  test('the settings table refuses, in one sentence each, a setting it does not know and a value the program cannot follow', () => {
    const base = { cell: 'lstm', layers: 1, hidden: 32, emb: 16, batch: 4, seq: 8, lr: 2e-3 };
    const refused: [Record<string, unknown>, string][] = [
      [
        { warmupSteps: 100, futureFlag: true },
        'The run in r uses warmupSteps 100, futureFlag true, which export-torch cannot carry over to PyTorch yet, so it is not exported.',
      ],
      [{ cell: 'lru' }, 'The run\'s cell "lru" is not one PyTorch has (lstm, gru, rnn).'],
      [{ optimizer: 'lion' }, 'The run\'s optimizer "lion" has no PyTorch counterpart here (adam, rmsprop, sgd).'],
      [
        { lrSchedule: 'cosine', scheduleSteps: 3, warmup: 3 },
        "The run's cosine schedule has no steps after its warm-up (scheduleSteps 3), so it is not exported.",
      ],
      [
        { scheduleReplans: [{ at: 6, totalSteps: 30 }] },
        'The run re-planned a "step" schedule, which only a cosine can be, so it is not exported.',
      ],
      [
        { weightDecay: 0.1, optimizer: 'sgd' },
        "The run's settings break a rule of charrnn train, so it is not exported: weightDecay is decoupled weight decay (AdamW) and needs optimizer adam, not sgd.",
      ],
      [{ ema: 1 }, "The run's ema 1 is not between 0 and 1, so it is not exported."],
      [{ hidden: undefined }, 'The run in r does not record its hidden, so it cannot be exported.'],
    ];
    for (const [setting, sentence] of refused) {
      assert.throws(
        () => torchSettings({ ...base, ...setting }, 'r'),
        (e: unknown) => e instanceof CharrnnError && e.message === sentence,
        sentence,
      );
    }
  });

  test("settings.json has the entries the program reads: the program's SETTING_NAMES", () => {
    const program = readFileSync(join(PYTHON_FOLDER, 'train_torch.py'), 'utf8');
    const listed = /^SETTING_NAMES = \(\n([\s\S]*?)\n\)/m.exec(program)?.[1];
    assert.ok(listed, 'train_torch.py lists SETTING_NAMES');
    const names = [...listed.replace(/#.*/g, '').matchAll(/"(\w+)"/g)].map(m => m[1]);
    const files: TorchRunFiles = {
      summary: 's',
      corpus: 'c',
      run_folder: '..',
      ids_file: 'text.u16',
      ids_dtype: '<u2',
      ids_count: 1,
      text_hash: 'h',
      eol_id: null,
      lines_file: null,
    };
    const file = JSON.parse(
      torchSettingsFile(torchSettings({ cell: 'gru', layers: 1, hidden: 8, emb: 4, batch: 2, seq: 4, lr: 0.01 }, 'r'), files),
    ) as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(file)
        .filter(k => k !== 'format')
        .sort(),
      [...names].sort(),
    );
    assert.equal(file.format, /^SETTINGS_FILE, SETTINGS_FORMAT = "settings\.json", "([^"]+)"$/m.exec(program)?.[1]);
  });

  test('a validation split the program does not know, or one with line mode, is refused in one sentence each, nothing written', async () => {
    // Checkpoints as a charrnn with these settings saves them (its settings record; the tensors do not depend on them).
    ok(await cli(['train', 'corpus.txt', ...TINY, '--steps', '2', '--out', 'plain']), 'train');
    const { tensors, metadata } = decodeSafetensors(readFileSync(at('plain', 'checkpoint.safetensors')), 'ckpt');
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'middle',
        { valSplit: 'middle' },
        'The run\'s --val-split "middle" is not one export-torch knows (tail, spread), so it is not exported.',
      ],
      [
        'lined',
        { lines: true, valSplit: 'spread' },
        "The run's settings break a rule of charrnn train, so it is not exported: --val-split spread holds out windows of running text; line mode holds out whole lines chosen at random already, so leave --val-split out.",
      ],
      ['tailed', { valSplit: 'tail', lines: false }, ''],
      ['spread', { valSplit: 'spread' }, ''],
    ];
    for (const [name, extra, sentence] of cases) {
      const training = JSON.parse(metadata.training) as { run: { settings: Record<string, unknown> } };
      Object.assign(training.run.settings, extra);
      mkdirSync(at(name));
      writeFileSync(
        at(name, 'checkpoint.safetensors'),
        encodeSafetensors(
          [...tensors].map(([n, t]) => ({ name: n, ...t })),
          { ...metadata, training: JSON.stringify(training) },
        ),
      );
      const r = await cli(['export-torch', name, 'corpus.txt']);
      assert.equal(r.stderr, sentence === '' ? '' : `charrnn: ${sentence}\n`, name);
      assert.equal(r.status, sentence === '' ? 0 : 1, name);
      assert.equal(existsSync(at(name, 'torch')), sentence === '', name);
    }
  });
});
