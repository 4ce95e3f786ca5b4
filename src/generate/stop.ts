/** Stop strings that end the line: '\n', and '\r\n' so a Windows line ends without its '\r'. */
export const END_OF_LINE: readonly string[] = ['\n', '\r\n'];

/**
 * Finds stop strings in text that arrives a character at a time, across any
 * boundaries: text that could still be the start of a stop string is held back
 * until it is known not to be, so what has been released never needs taking
 * back. Generation ends at the first occurrence, which is not part of the text.
 */
export class StopMatcher {
  private held = '';
  private readonly stops: readonly string[];
  private stoppedAt = false;

  constructor(stops: readonly string[]) {
    this.stops = stops.filter(s => s.length > 0);
  }

  /** Whether a stop string has been found. */
  get stopped(): boolean {
    return this.stoppedAt;
  }

  /**
   * Takes the next character; returns the text now known to come before any
   * stop string ('' while a possible stop string is held back, and after one was
   * found, the text before it).
   */
  push(c: string): string {
    if (this.stops.length === 0) return c;
    const text = this.held + c;
    // Occurrences can only end at the character just added (none ended before);
    // of those, the one that starts first is the first occurrence.
    let first = -1;
    for (const s of this.stops) {
      if (text.endsWith(s)) {
        const at = text.length - s.length;
        if (first < 0 || at < first) first = at;
      }
    }
    if (first >= 0) {
      this.held = '';
      this.stoppedAt = true;
      return text.slice(0, first);
    }
    // Hold back the longest end of the text that some stop string begins with.
    let keep = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, text.length); n > keep; n--) {
        if (text.endsWith(s.slice(0, n))) {
          keep = n;
          break;
        }
      }
    }
    this.held = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }

  /** The text still held back, released at the end of generation (no stop string came). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}
