/**
 * An error caused by what the user gave charrnn (a file, a flag, a model, a
 * prime text), with a message that is one sentence saying what is wrong. The CLI
 * prints the message alone, without a stack trace; any other error is a bug.
 */
export class CharrnnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CharrnnError';
  }
}

/**
 * A CharrnnError whose sentence names settings or options, written once as a
 * function of a naming function, for the platform-neutral layers below the run
 * layer (whose SettingError does the same for run settings). `message` names
 * them the library's way, by their own names (maxVocab, lines); `in(names)` says
 * it again in a face's words (the CLI's --max-vocab, --lines).
 */
export class WordedError<Name extends string = string> extends CharrnnError {
  constructor(private readonly sentence: (name: (setting: Name) => string) => string) {
    super(sentence(setting => setting));
  }

  /** The same sentence with every setting named the face's way. */
  in(names: (setting: Name) => string): string {
    return this.sentence(names);
  }
}
