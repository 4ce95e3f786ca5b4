// `charrnn export-torch`: copies the PyTorch program that continues a run and
// its launcher (python/train_torch.py and python/run.sh, unchanged), and writes
// beside them the run's settings as data (settings.json) and its training text
// as ids. The run's own files stay where they are: the program reads the
// checkpoint from the run folder and saves back there.
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CharrnnError } from '../errors.js';
import { EOL } from '../data/line-examples.js';
import {
  LINE_METADATA_FILE,
  TORCH_LAUNCHER_NAME,
  TORCH_PROGRAM_NAME,
  TORCH_SETTINGS_NAME,
  torchSettings,
  torchSettingsFile,
} from '../export/torch-settings.js';
import { lineModelMetadata } from '../model/line-model.js';
import { inVocabulary } from '../run/fine-tune.js';
import { withLines } from '../run/line-mode.js';
import { DecodeError, type InvalidPolicy } from '../text/decoder.js';
import type { Normalization } from '../text/normalize.js';
import { decodeCheckpoint, type RunRecord } from '../train/checkpoint.js';
import { readCorpus, type LoadedCorpus } from './read-corpus.js';
import { ensureFolder, readBytes, writeFileAtomic } from './files.js';
import { readRunSource, STANDARD_INPUT, standardInputRun, TORCH_FOLDER } from './run-folder.js';

export interface ExportTorchOptions {
  /** The run folder (the --out of charrnn train). */
  run: string;
  /** The text files the run trained on, or its embedded corpus; by default what the run records. */
  files: readonly string[];
  corpus?: string;
  /** Where the program goes (default: RUN/torch). */
  to?: string;
  /** Standard input, for the file "-". */
  stdin?: AsyncIterable<Uint8Array>;
}

export interface ExportTorchResult {
  folder: string;
  program: string;
  /** run.sh: the program under torchrun, NPROC processes on this machine. */
  launcher: string;
  settings: string;
  ids: string;
  /** A line run's lines.json (the metadata entries of its model files). */
  lineMetadata?: string;
  /** Optimizer steps the run had done: where PyTorch goes on from. */
  steps: number;
  chars: number;
}

export async function exportTorch(o: ExportTorchOptions): Promise<ExportTorchResult> {
  const checkpointPath = join(o.run, 'checkpoint.safetensors');
  if (!existsSync(checkpointPath) || !statSync(checkpointPath).isFile()) {
    throw new CharrnnError(
      `${o.run} holds no charrnn run to export (it has no checkpoint.safetensors); give the --out folder of a charrnn train run.`,
    );
  }
  const checkpoint = decodeCheckpoint(readBytes(checkpointPath), checkpointPath);
  const settings = torchSettings(checkpoint.run.settings, o.run);
  const text = await textOfRun(o, checkpoint.run).catch((e: unknown) => {
    // The run's text settings are fixed, so the decoder's advice (another --encoding) does not apply: the file is not the run's text.
    if (e instanceof DecodeError) {
      const s = checkpoint.run.settings;
      const reading = `${typeof s.encoding === 'string' ? s.encoding : 'UTF-8'}${s.invalid === 'replace' ? ' with --invalid replace' : ''}`;
      throw new CharrnnError(
        `${e.problem}; export-torch reads the text with the run's own text settings (the run in ${o.run} was trained on ${reading} text), ` +
          'so this is not the text the run was trained on.',
      );
    }
    throw e;
  });
  // Line mode trains on the text's lines, each followed by the end-of-line, with their own vocabulary.
  const s = checkpoint.run.settings;
  const lines = s.lines === true;
  const asRead = withLines(text, {
    lines,
    valFrac: typeof s.valFrac === 'number' ? s.valFrac : 0.1,
    seed: typeof s.seed === 'number' ? s.seed : 1,
  });
  // A fine-tuning run's vocabulary is its starting model's and then the text's: the text is encoded as the checkpoint has it.
  const corpus = inVocabulary(asRead, checkpoint.vocab) ?? asRead;
  const { vocab } = corpus;
  // PyTorch reads 16- or 32-bit ids; a small vocabulary's one-byte ids are widened.
  const ids = corpus.ids instanceof Uint8Array ? Uint16Array.from(corpus.ids) : corpus.ids;
  if (corpus.hash !== checkpoint.run.textHash || vocab.chars.join('') !== checkpoint.vocab.chars.join('')) {
    throw new CharrnnError(`The text differs from the one the run in ${o.run} was trained on, so it cannot be exported with it.`);
  }

  const copied = [TORCH_PROGRAM_NAME, TORCH_LAUNCHER_NAME].map(name => [name, readFileSync(packageFile(name))] as const);
  const folder = o.to ?? join(o.run, TORCH_FOLDER);
  ensureFolder(folder);
  const wide = ids instanceof Uint32Array;
  const idsFile = wide ? 'text.u32' : 'text.u16';
  const settingsFile = torchSettingsFile(settings, {
    summary: summary(checkpoint.config, corpus.source, lines),
    corpus: corpus.source,
    run_folder: relative(resolve(folder), resolve(o.run)) || '.',
    ids_file: idsFile,
    ids_dtype: wide ? '<u4' : '<u2',
    ids_count: ids.length,
    text_hash: checkpoint.run.textHash,
    eol_id: lines ? vocab.id(EOL)! : null,
    lines_file: lines ? LINE_METADATA_FILE : null,
  });
  writeFileAtomic(join(folder, idsFile), littleEndian(ids));
  // The entries charrnn puts in every model file of a line model, for the model files PyTorch saves.
  const lineMetadata = join(folder, LINE_METADATA_FILE);
  if (lines) writeFileAtomic(lineMetadata, new TextEncoder().encode(JSON.stringify(lineModelMetadata(EOL, corpus.lines!.lines))));
  writeFileAtomic(join(folder, TORCH_SETTINGS_NAME), new TextEncoder().encode(settingsFile));
  for (const [name, bytes] of copied) writeFileAtomic(join(folder, name), bytes);
  chmodSync(join(folder, TORCH_LAUNCHER_NAME), 0o755);
  return {
    folder,
    program: join(folder, TORCH_PROGRAM_NAME),
    launcher: join(folder, TORCH_LAUNCHER_NAME),
    settings: join(folder, TORCH_SETTINGS_NAME),
    ids: join(folder, idsFile),
    ...(lines ? { lineMetadata } : {}),
    steps: checkpoint.steps,
    chars: ids.length,
  };
}

/** python/NAME of this charrnn package (beside dist/), which export-torch copies unchanged. */
function packageFile(name: string): string {
  const path = fileURLToPath(new URL(`../../../python/${name}`, import.meta.url));
  if (!existsSync(path))
    throw new CharrnnError(`This charrnn installation lacks ${path}, which export-torch copies; install charrnn again.`);
  return path;
}

/**
 * The text a run trained on, read with the run's own text settings (encoding,
 * normalisation, --max-vocab), so its ids are the run's: the files or corpus
 * given, else what the run folder records (run.json), else the run's corpus.
 */
async function textOfRun(o: ExportTorchOptions, run: RunRecord): Promise<LoadedCorpus> {
  const s = run.settings;
  const options = {
    encoding: typeof s.encoding === 'string' ? s.encoding : undefined,
    invalid: (typeof s.invalid === 'string' ? s.invalid : 'error') as InvalidPolicy,
    normalize: (typeof s.normalize === 'string' ? s.normalize : 'none') as Normalization,
    maxVocab: typeof s.maxVocab === 'number' ? s.maxVocab : undefined,
  };
  if (o.files.length > 0 || o.corpus !== undefined) return readCorpus(o.files, o.corpus, options, { stdin: o.stdin });
  const recorded = readRunSource(o.run);
  if (recorded?.files.includes(STANDARD_INPUT)) {
    throw standardInputRun(
      o.run,
      `export-torch cannot read it again, so give the same text as a file (charrnn export-torch ${o.run} FILE) or pipe it (cat FILE | charrnn export-torch ${o.run} -)`,
    );
  }
  if (recorded !== null && recorded.files.length > 0) return readCorpus(recorded.files, undefined, options);
  const corpus = recorded?.corpus ?? s.corpus;
  if (typeof corpus === 'string') return readCorpus([], corpus, options);
  throw new CharrnnError(
    `The run in ${o.run} does not record its text: give the text files it was trained on, as for charrnn train --resume.`,
  );
}

function summary(c: { cell: string; layers: number; hidden: number }, source: string, lines: boolean): string {
  return `a ${c.layers}x${c.hidden} ${c.cell.toUpperCase()} on ${lines ? 'the lines of ' : ''}${source}`;
}

/** The ids as little-endian bytes, whatever the machine's byte order. */
function littleEndian(ids: Uint16Array | Uint32Array): Uint8Array {
  const out = new Uint8Array(ids.byteLength);
  const view = new DataView(out.buffer);
  const width = ids.BYTES_PER_ELEMENT;
  for (let i = 0; i < ids.length; i++) {
    if (width === 2) view.setUint16(2 * i, ids[i], true);
    else view.setUint32(4 * i, ids[i], true);
  }
  return out;
}
