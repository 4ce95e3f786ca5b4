// The train/validation split of the benchmark protocol: the first
// floor(n * (1 - valFrac)) characters train, the rest validate, exactly as
// torch_ref.py's int(len(data) * 0.9) for valFrac 0.1.
import { CharrnnError } from '../errors.js';

export function splitCorpus<A extends Uint8Array | Uint16Array | Uint32Array>(ids: A, valFrac: number): { train: A; val: A } {
  if (!(valFrac >= 0 && valFrac < 1)) {
    throw new CharrnnError(`The validation fraction must be at least 0 and below 1, got ${valFrac}.`);
  }
  const n = ids.length;
  // 1 - 0.1 is the same double as 0.9, so this equals Python's int(n * 0.9) for the protocol's split.
  const nTrain = Math.floor(n * (1 - valFrac));
  return { train: ids.subarray(0, nTrain) as A, val: ids.subarray(nTrain) as A };
}
