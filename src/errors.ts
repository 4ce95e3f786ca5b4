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
