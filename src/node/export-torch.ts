// `charrnn export-torch`: writes the PyTorch program that continues a run, and
// the run's training text as ids beside it. The run's own files stay where they
// are: the program reads the checkpoint from the run folder and saves back there.
import { existsSync, statSync } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';
import { CharrnnError } from '../errors.js';
import { EOL } from '../data/line-examples.js';
import { LINE_METADATA_FILE } from '../export/torch-lines.js';
import { torchProgram, TORCH_PROGRAM_NAME } from '../export/torch-program.js';
import { programParts } from '../export/torch-settings.js';
import { lineModelMetadata } from '../model/line-model.js';
import { withLines } from '../run/line-mode.js';
import { DecodeError, type InvalidPolicy } from '../text/decoder.js';
import type { Normalization } from '../text/normalize.js';
import { decodeCheckpoint, type RunRecord } from '../train/checkpoint.js';
import { readCorpus, type LoadedCorpus } from './read-corpus.js';
import { ensureFolder, readBytes, writeFileAtomic } from './files.js';
import { readRunSource, STANDARD_INPUT, standardInputRun } from './run-folder.js';

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
    throw new CharrnnError(`${o.run} holds no charrnn run to export (it has no checkpoint.safetensors); give the --out folder of a charrnn train run.`);
  }
  const checkpoint = decodeCheckpoint(readBytes(checkpointPath), checkpointPath);
  const parts = programParts(checkpoint.run.settings, o.run);
  const text = await textOfRun(o, checkpoint.run).catch((e: unknown) => {
    // The run's text settings are fixed, so the decoder's advice (another --encoding) does not apply: the file is not the run's text.
    if (e instanceof DecodeError) {
      const s = checkpoint.run.settings;
      const reading = `${typeof s.encoding === 'string' ? s.encoding : 'UTF-8'}${s.invalid === 'replace' ? ' with --invalid replace' : ''}`;
      throw new CharrnnError(`${e.problem}; export-torch reads the text with the run's own text settings (the run in ${o.run} was trained on ${reading} text), ` +
        'so this is not the text the run was trained on.');
    }
    throw e;
  });
  // Line mode trains on the text's lines, each followed by the end-of-line, with their own vocabulary.
  const s = checkpoint.run.settings;
  const lines = s.lines === true;
  const corpus = withLines(text, { lines, valFrac: typeof s.valFrac === 'number' ? s.valFrac : 0.1, seed: typeof s.seed === 'number' ? s.seed : 1 });
  const { vocab } = corpus;
  // PyTorch reads 16- or 32-bit ids; a small vocabulary's one-byte ids are widened.
  const ids = corpus.ids instanceof Uint8Array ? Uint16Array.from(corpus.ids) : corpus.ids;
  if (corpus.hash !== checkpoint.run.textHash || vocab.chars.join('') !== checkpoint.vocab.chars.join('')) {
    throw new CharrnnError(`The text differs from the one the run in ${o.run} was trained on, so it cannot be exported with it.`);
  }

  const folder = o.to ?? join(o.run, 'torch');
  ensureFolder(folder);
  const wide = ids instanceof Uint32Array;
  const idsFile = wide ? 'text.u32' : 'text.u16';
  const program = torchProgram({
    summary: summary(checkpoint.config, corpus.source, lines), idsFile, idsDtype: wide ? '<u4' : '<u2', idsCount: ids.length,
    textHash: checkpoint.run.textHash, runFolder: relative(resolve(folder), resolve(o.run)) || '.', corpus: corpus.source,
    ...(lines ? { lines: { eolId: vocab.id(EOL)!, metadataFile: LINE_METADATA_FILE } } : {}),
  }, parts);
  writeFileAtomic(join(folder, idsFile), littleEndian(ids));
  // The entries charrnn puts in every model file of a line model, for the model files PyTorch saves.
  const lineMetadata = join(folder, LINE_METADATA_FILE);
  if (lines) writeFileAtomic(lineMetadata, new TextEncoder().encode(JSON.stringify(lineModelMetadata(EOL, corpus.lines!.lines))));
  writeFileAtomic(join(folder, TORCH_PROGRAM_NAME), new TextEncoder().encode(program));
  return { folder, program: join(folder, TORCH_PROGRAM_NAME), ids: join(folder, idsFile), ...(lines ? { lineMetadata } : {}), steps: checkpoint.steps, chars: ids.length };
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
    throw standardInputRun(o.run, `export-torch cannot read it again, so give the same text as a file (charrnn export-torch ${o.run} FILE) or pipe it (cat FILE | charrnn export-torch ${o.run} -)`);
  }
  if (recorded !== null && recorded.files.length > 0) return readCorpus(recorded.files, undefined, options);
  const corpus = recorded?.corpus ?? s.corpus;
  if (typeof corpus === 'string') return readCorpus([], corpus, options);
  throw new CharrnnError(`The run in ${o.run} does not record its text: give the text files it was trained on, as for charrnn train --resume.`);
}

/**
 * How to start torchrun here: `torchrun` when it is on the PATH, else PyTorch's
 * module through Debian's python3 (which python3-torch installs into) or the
 * python3 on the PATH.
 */
export function torchrunCommand(path = process.env.PATH ?? ''): string {
  const onPath = (name: string): boolean => path.split(delimiter).some(d => d !== '' && existsSync(join(d, name)));
  if (onPath('torchrun')) return 'torchrun';
  return `${existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'} -m torch.distributed.run`;
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
