// The CLI's words for the run layer's settings: its flags. A setting's flag is
// its name in kebab case (valFrac: --val-frac); a time budget is given by either
// of two flags.
import { SettingError, type SettingName, type SettingNames } from '../run/setting-error.js';

/** Settings whose flag is not their name in kebab case. */
const EXCEPTIONS: Partial<Record<SettingName, string>> = { timeBudget: '--seconds or --minutes' };

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
