// Training that diverged: the loss or the gradient norm stopped being finite.
import { CharrnnError } from '../errors.js';

/**
 * A step whose loss or gradient norm is not finite; the weights are those of
 * the last good step. `problem` says what happened, without advice, for a caller
 * that knows more to add (a run says what it saved).
 */
export class DivergedError extends CharrnnError {
  constructor(readonly problem: string) {
    super(`${problem}; try a smaller learning rate.`);
    this.name = 'DivergedError';
  }
}
