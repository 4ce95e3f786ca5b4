// Fine-tuning: a new run whose weights start from a trained model rather than
// from a fresh draw. The model's size and cell are kept; its characters keep
// their rows, and characters only the new text has get new rows of the
// embedding and the output layer, drawn as a fresh model of the grown size
// draws them. Every face's fine-tuning goes through here (the CLI's --from, the
// page's starting model, a program's RunOptions.from). Platform-neutral: the
// caller reads the model file's bytes.
import type { LineCorpus } from '../data/line-corpus.js';
import type { LineExamples } from '../data/line-examples.js';
import type { TokenIds } from '../data/streams.js';
import type { Kernels } from '../kernels/kernels.js';
import { CharRNN } from '../model/charrnn.js';
import type { ModelConfig } from '../model/config.js';
import { decodeModel, type DecodedModel } from '../model/model-file.js';
import type { ModelOrigin } from '../model/origin.js';
import { describeChar, Vocabulary } from '../text/vocabulary.js';
import { sha256Hex } from '../util/sha256.js';
import { SettingError } from './setting-error.js';
import type { RunSettings } from './settings.js';
import type { TrainingText } from './training-text.js';

/**
 * The model a fine-tuning run starts from (see {@link startingModel}): its
 * file decoded, the name it was given, and its content hash, which the run's
 * model files record (`fine_tuned_from`).
 */
export interface StartingModel extends ModelOrigin {
  /** The model file, decoded and checked. */
  readonly model: DecodedModel;
}

/**
 * A model file as a fine-tuning run's starting point: decoded (a file that is
 * not a charrnn model is a CharrnnError, one sentence naming `name`) and hashed.
 * `name` is what the user called it: a base model's name, or the file's path.
 */
export function startingModel(bytes: Uint8Array, name: string): StartingModel {
  const model = decodeModel(bytes, name);
  return { name, sha256: sha256Hex(bytes), model };
}

/** The settings that the starting model fixes: its architecture. */
export const KEPT_FROM_MODEL = ['cell', 'layers', 'hidden', 'emb'] as const satisfies readonly (keyof RunSettings & keyof ModelConfig)[];

/** "a 2x384 LSTM on 106 characters": the starting model in a few words. */
export function describeModel(c: ModelConfig): string {
  return `a ${c.layers}x${c.hidden} ${c.cell.toUpperCase()} with ${c.vocabSize} characters`;
}

/**
 * The settings of a fine-tuning run: `settings` with the model's cell, layers,
 * hidden units and embedding size, and the text read in the model's Unicode
 * normalisation. A setting given explicitly (`given`) with another value is a
 * SettingError: one sentence naming it and the model's value.
 */
export function fineTuneSettings(settings: RunSettings, given: Partial<RunSettings>, from: StartingModel): RunSettings {
  const c = from.model.config;
  for (const k of KEPT_FROM_MODEL) {
    if (given[k] !== undefined && given[k] !== c[k]) {
      throw new SettingError(
        k,
        n =>
          `The model ${from.name} is ${describeModel(c)}, and fine-tuning keeps its size and cell, so ${n(k)} cannot be ${String(given[k])}: leave ${n(k)} out.`,
      );
    }
  }
  const form = from.model.vocab.normalization;
  if (given.normalize !== undefined && given.normalize !== form) {
    throw new SettingError(
      'normalize',
      n =>
        `The model ${from.name} was trained on text in Unicode form ${form}, so a text fine-tuning it is read in that form too: leave ${n('normalize')} out, or give ${n('normalize')} ${form}.`,
    );
  }
  return { ...settings, cell: c.cell, layers: c.layers, hidden: c.hidden, emb: c.emb, normalize: form };
}

/**
 * Refuses settings that do not keep the starting model's architecture (a
 * program that built them itself rather than with {@link fineTuneSettings}).
 */
export function checkFineTuneSettings(s: RunSettings, from: StartingModel): void {
  fineTuneSettings(s, s, from);
}

/** A text in a fine-tuning run's vocabulary, and the characters that vocabulary added to the model's. */
export interface FineTuneText {
  /** The text with ids in the grown vocabulary: the model's characters first, with their ids, then the added ones. */
  text: TrainingText;
  /** The characters the text has and the model had not, in the order of their new ids. */
  added: string[];
}

/**
 * The vocabulary of a fine-tuning run: the model's characters with their ids,
 * then the text's characters the model lacks (in code-point order), in the
 * model's normalisation form; the text's ids (and line mode's lines) are
 * re-encoded in it. Applied to a text already in it, it changes nothing.
 */
export function fineTuneText(text: TrainingText, from: StartingModel): FineTuneText {
  const own = from.model.vocab;
  const added = text.vocab.chars.filter(c => own.id(c) === undefined);
  const vocab = new Vocabulary([...own.chars, ...added], own.normalization);
  return { text: inVocabulary(text, vocab)!, added };
}

/**
 * The text with its ids in `vocab`, which must have every character of the
 * text's vocabulary (else null): how a fine-tuning run's text, read anew, is
 * encoded as the run's checkpoint has it. The fingerprint (`hash`) stays the
 * text's.
 */
export function inVocabulary(text: TrainingText, vocab: Vocabulary): TrainingText | null {
  if (sameChars(text.vocab, vocab)) return text.vocab === vocab ? text : { ...text, vocab };
  const table = new Int32Array(text.vocab.size); // [text id] -> id in vocab
  for (let i = 0; i < text.vocab.size; i++) {
    const id = vocab.id(text.vocab.chars[i]);
    if (id === undefined) return null;
    table[i] = id;
  }
  const ids = remapIds(text.ids, table, vocab.size);
  return { ...text, ids, vocab, ...(text.lines ? { lines: remapLines(text.lines, table, vocab) } : {}) };
}

function sameChars(a: Vocabulary, b: Vocabulary): boolean {
  return a.size === b.size && a.chars.every((c, i) => b.chars[i] === c);
}

/** The ids through `table`, in an array wide enough for a vocabulary of `size`. */
function remapIds(ids: TokenIds, table: Int32Array, size: number): Uint16Array | Uint32Array {
  const out = size <= 0x10000 ? new Uint16Array(ids.length) : new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = table[ids[i]];
  return out;
}

function remapLines(lines: LineCorpus, table: Int32Array, vocab: Vocabulary): LineCorpus {
  const examples = (e: LineExamples): LineExamples => ({
    ids: Int32Array.from(e.ids, id => table[id]),
    starts: e.starts,
    eol: table[e.eol],
  });
  return { ...lines, vocab, train: examples(lines.train), val: examples(lines.val), ids: remapIds(lines.ids, table, vocab.size) };
}

/**
 * The starting model grown to `vocab` (the run's, from {@link fineTuneText}):
 * a fresh model of `config` drawn with `seed`, as a new run draws one, with
 * every weight of the starting model copied over it. The recurrent layers are
 * the starting model's whole; of the embedding and the output layer, the rows
 * of the model's own characters are its rows, bit for bit, and the rows of the
 * added characters stay as drawn.
 */
export function grownModel(from: StartingModel, config: ModelConfig, kernels: Kernels<Float32Array>, seed: number): CharRNN<Float32Array> {
  const model = new CharRNN(config, kernels, { seed });
  for (const s of model.params.specs) {
    // [V_old, E], [V_old, H], [V_old] of the vocabulary's tensors: their rows are the first dimension, so the
    // starting model's rows fill the first V_old rows of [V, E], [V, H], [V]; every other tensor is the same size.
    const source = from.model.tensors.get(s.name)!.data;
    if (source.length > s.size) throw new Error(`${s.name} of the starting model is larger than the grown model's`);
    model.params.get(s.name).set(source);
  }
  model.params.changed();
  return model;
}

/** What a fine-tuning run says as it starts: where from, and the characters added (a few of them shown). */
export function fineTuneNote(from: StartingModel, added: readonly string[]): string {
  const start = `fine-tuning ${from.name} (${describeModel(from.model.config)}, sha256 ${from.sha256.slice(0, 12)}…)`;
  if (added.length === 0) return `${start}: the text has no character the model lacks`;
  const shown = added.slice(0, 8).map(describeChar).join(', ');
  const more = added.length > 8 ? `, and ${added.length - 8} more` : '';
  const count = added.length === 1 ? '1 character' : `${added.length} characters`;
  return `${start}: ${count} of the text the model lacks get new rows: ${shown}${more}`;
}
