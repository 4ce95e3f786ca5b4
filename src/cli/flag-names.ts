// The CLI's words for the run layer's settings: its flags. A setting's flag is
// its name in kebab case (valFrac: --val-frac); a time budget is given by either
// of two flags.
import { CharrnnError } from '../errors.js';
import { SettingError, type SettingName, type SettingNames } from '../run/setting-error.js';
import { checkSettingRanges, outOfRange } from '../run/setting-ranges.js';
import type { RunSettings, StopLimits } from '../run/settings.js';

/** Settings whose flag is not their name in kebab case. */
const EXCEPTIONS: Partial<Record<SettingName, string>> = {
  timeBudget: '--seconds or --minutes',
  text: 'some text (files, standard input or --corpus)',
};

export const FLAG_NAMES: SettingNames = setting => flagName(setting);

/** The flag for any name a platform-neutral sentence gives (maxVocab: --max-vocab), run settings or not. */
export function flagName(name: string): string {
  return EXCEPTIONS[name as SettingName] ?? `--${kebab(name)}`;
}

/** A setting's name in a flag's case: valEvery -> val-every. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`);
}

/** A command's action whose refused settings are said with the flags that set them. */
export function withFlagNames<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      throw e instanceof SettingError ? e.said(FLAG_NAMES) : e;
    }
  };
}

/** A flag's value outside its setting's range: a usage error (exit 2), as commander's own refusals of a flag are. */
export class FlagValueError extends CharrnnError {
  constructor(message: string) {
    super(message);
    this.name = 'FlagValueError';
  }
}

/**
 * The run layer's range check (checkSettingRanges) of the train flags, said in
 * flag words; --minutes, the CLI's other way to give seconds, is judged by the
 * seconds' range under its own name.
 */
export function checkFlagRanges(settings: RunSettings, limits: StopLimits, minutes?: number): void {
  const minutesRefused = minutes === undefined ? null : outOfRange('seconds', minutes);
  if (minutesRefused) throw new FlagValueError(minutesRefused.in(s => (s === 'seconds' ? '--minutes' : FLAG_NAMES(s))));
  try {
    checkSettingRanges(settings, limits);
  } catch (e) {
    throw e instanceof SettingError ? new FlagValueError(e.in(FLAG_NAMES)) : e;
  }
}
