// The wall-clock budget of a run (--seconds / --minutes) as a promise: the run,
// with its final validation and save, ends within the budget plus a few
// seconds. So the run stops taking steps once one more step and the closing
// work would no longer fit, judged from what those took so far. Platform-neutral.

/** Seconds kept in hand beyond the estimates: a step or a save can be slower than the last. */
const MARGIN_SECONDS = 0.5;
/** Steps timed before their speed is trusted to guess a validation's time. */
const GUESS_AFTER_STEPS = 3;

export class Budget {
  private stepSeconds = 0;
  private fastestStep = Infinity;
  private steps = 0;
  /** Seconds a validated character took, from the validations (and the probe) timed so far. */
  private secondsPerValidatedChar: number | null = null;
  private saveSeconds = 0;

  /**
   * @param seconds the budget (Infinity: none)
   * @param startedAt the clock's reading (ms) when the invocation started
   * @param validationChars the characters a validation scores
   * @param charsPerStep the characters a training step scores, to guess a validation's time before one is measured
   */
  constructor(
    readonly seconds: number,
    private readonly startedAt: number,
    private readonly validationChars: number,
    private readonly charsPerStep: number,
  ) {}

  /**
   * Before a validation has been timed: a forward pass costs about a third of a
   * training step per character. The fastest step so far is the measure, not
   * first ones, which pay for compiling and warming caches: so the guess waits
   * for a few steps.
   */
  private guessValidation(): number {
    return this.steps >= GUESS_AFTER_STEPS ? ((this.validationChars / this.charsPerStep) * this.fastestStep) / 3 : 0;
  }

  /** Seconds a whole validation is expected to take: measured per character once timed, else guessed. */
  private validationSeconds(): number {
    return this.secondsPerValidatedChar === null ? this.guessValidation() : this.validationChars * this.secondsPerValidatedChar;
  }

  /**
   * Whether the run should time a few pieces of a validation now: a limited
   * budget, no validation timed yet, and past the first steps (which pay for
   * warming up). The guess from the steps' speed misses where a validation's
   * cost per character is not a third of a step's (a large vocabulary's output
   * layer, a validation batch unlike the training one).
   */
  wantsProbe(): boolean {
    return this.limited && this.secondsPerValidatedChar === null && this.steps >= GUESS_AFTER_STEPS && this.validationChars > 0;
  }

  get limited(): boolean {
    return Number.isFinite(this.seconds);
  }

  /** Seconds used so far. */
  elapsed(now: number): number {
    return (now - this.startedAt) / 1000;
  }

  recordStep(seconds: number): void {
    // The slower of the last step and a decaying memory of earlier ones: a slow spell counts at once.
    this.stepSeconds = Math.max(seconds, this.stepSeconds * 0.9);
    this.fastestStep = Math.min(this.fastestStep, seconds);
    this.steps++;
  }

  /** A validation (or part of one) scored `chars` characters in `seconds`. */
  recordValidation(seconds: number, chars: number): void {
    if (!(chars > 0)) return;
    const perChar = seconds / chars;
    // Like a step's time: the slower of the last and a decaying memory of earlier ones.
    this.secondsPerValidatedChar = Math.max(perChar, (this.secondsPerValidatedChar ?? 0) * 0.9);
  }

  recordSave(seconds: number): void {
    this.saveSeconds = Math.max(seconds, this.saveSeconds * 0.9);
  }

  /** Seconds the closing validation and save are expected to take. */
  closingSeconds(): number {
    return this.validationSeconds() + this.saveSeconds + MARGIN_SECONDS;
  }

  /**
   * The clock reading (ms) by which the closing validation must end so that
   * the save still fits: a validation slower than measured is cut short there
   * rather than overrunning the budget (Infinity when unlimited).
   */
  closingValidationEnd(): number {
    return this.limited ? this.startedAt + (this.seconds - this.saveSeconds - MARGIN_SECONDS) * 1000 : Infinity;
  }

  /** Whether one more step still leaves time for the closing work. */
  allowsStep(now: number): boolean {
    return !this.limited || this.elapsed(now) + this.stepSeconds + this.closingSeconds() <= this.seconds;
  }

  /** Whether a validation now (on top of the closing one) still fits. */
  allowsValidation(now: number): boolean {
    return !this.limited || this.elapsed(now) + this.validationSeconds() + this.closingSeconds() <= this.seconds;
  }

  /** Seconds left of the budget (Infinity when unlimited). */
  remaining(now: number): number {
    return this.limited ? Math.max(0, this.seconds - this.elapsed(now)) : Infinity;
  }
}
