// A refused setting, said in the words of whoever reads it. The run layer
// writes each rule's sentence once, naming settings through a function; the
// library's words are the settings' own names (hidden, valFrac), and each face
// passes its own (the CLI its flags, the page its labels) when it reports one.
import { CharrnnError } from '../errors.js';
import type { RunSettings, StopLimits } from './settings.js';

/**
 * What a rule's sentence may name: a setting, a stop limit, the planning step's
 * recipe, `timeBudget`, the way to give a run a time budget (the library's
 * seconds; the CLI's --seconds or --minutes), `text`, the way to give a run its
 * text (the library's "some text"; the page's paste or file), `backend`, the
 * engine's choice (loadKernels' backend; the CLI's --backend), or `from`, the
 * model a fine-tuning run starts from (RunOptions.from; the CLI's --from).
 */
export type SettingName = keyof RunSettings | keyof StopLimits | 'recipe' | 'timeBudget' | 'text' | 'backend' | 'from';

/** A face's name for each setting: the CLI's { hidden: '--hidden' }, the page's labels. */
export type SettingNames = (setting: SettingName) => string;

/** The library's words: a setting is called by its own name. */
export const LIBRARY_NAMES: SettingNames = setting => (setting === 'timeBudget' ? 'seconds' : setting === 'text' ? 'some text' : setting);

/**
 * A setting that cannot be, or settings that conflict: one sentence, whose
 * `message` names them in the library's words; `in(names)` says it again in a
 * face's. `setting` is the setting to change (the first one the sentence names).
 */
export class SettingError extends CharrnnError {
  constructor(
    readonly setting: SettingName,
    private readonly sentence: (name: SettingNames) => string,
  ) {
    super(sentence(LIBRARY_NAMES));
    this.name = 'SettingError';
  }

  /** The same sentence with every setting named the face's way. */
  in(names: SettingNames): string {
    return this.sentence(names);
  }

  /** A CharrnnError with the sentence in a face's words, for a face that reports errors by their message. */
  said(names: SettingNames): CharrnnError {
    return new CharrnnError(this.in(names));
  }
}
