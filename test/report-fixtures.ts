// A synthetic training run as its events, and as the log.jsonl lines the CLI
// writes for them (eventToJson, one per line). Losses follow a made-up decay
// with a known best validation, so tests can check what a plot shows by hand.
import { eventToJson, type ConfigEvent, type RunEvent, type StepEvent, type ValidationEvent } from '../src/run/events.js';

export const CONFIG: ConfigEvent = {
  type: 'config',
  step: 0,
  epoch: 0,
  chars: 0,
  time: 0,
  resumed: false,
  model: { cell: 'lstm', layers: 2, hidden: 128, emb: 64, dropout: 0, vocabSize: 65 },
  settings: { batchSize: 50, seqLength: 50, valEvery: 100 },
  corpus: { source: 'tiny.txt', chars: 100_000, trainChars: 90_000, valChars: 10_000, vocab: 65, lines: false },
  params: 212_289,
  backend: 'reference',
  totalSteps: 500,
  budgetSeconds: null,
};

const at = (step: number) => ({ step, epoch: (step * 2500) / 90_000, chars: step * 2500, time: step * 0.05 });

export function stepEvent(step: number, loss: number, smoothLoss: number): StepEvent {
  return { type: 'step', ...at(step), loss, smoothLoss, lr: 0.002, gradNorm: 1.5, charsPerSecond: 50_000 };
}

export function validationEvent(step: number, loss: number, bestLoss: number, sinceBest: number): ValidationEvent {
  return { type: 'validation', ...at(step), loss, best: sinceBest === 0, bestLoss, sinceBest };
}

/** Validation losses at steps 100..500: the best is 1.5 at step 300, then it overfits. */
export const VALIDATION: readonly [number, number][] = [
  [100, 2.5],
  [200, 1.9],
  [300, 1.5],
  [400, 1.6],
  [500, 1.7],
];

/** Training losses: a decay from ln 65 with a zig-zag, so raw and smoothed differ. */
export function trainingLoss(step: number): number {
  return 1.2 + (Math.log(65) - 1.2) * Math.exp(-step / 80) + (step % 2 === 0 ? 0.05 : -0.05);
}

/** The run's events in order: config, a step per step, a validation every 100 steps, a result. */
export function syntheticRun(steps = 500): RunEvent[] {
  const events: RunEvent[] = [CONFIG];
  let smooth = trainingLoss(1),
    best = Infinity,
    since = 0;
  for (let s = 1; s <= steps; s++) {
    const loss = trainingLoss(s);
    smooth = 0.95 * smooth + 0.05 * loss;
    events.push(stepEvent(s, loss, smooth));
    const v = VALIDATION.find(([vs]) => vs === s);
    if (v) {
      if (v[1] < best) {
        best = v[1];
        since = 0;
      } else since++;
      events.push(validationEvent(s, v[1], best, since));
    }
  }
  events.push({
    type: 'result',
    ...at(steps),
    reason: 'limit',
    stepsThisRun: steps,
    trainSeconds: steps * 0.05,
    charsPerSecond: 50_000,
    lastLoss: trainingLoss(steps),
    valLoss: 1.7,
    bestValLoss: 1.5,
    sample: 'to be',
  });
  return events;
}

export const toLog = (events: readonly RunEvent[]): string => events.map(e => JSON.stringify(eventToJson(e)) + '\n').join('');
