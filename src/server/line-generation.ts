import type { GenerationResult } from '../generate/generator.js';
import { lineRounds } from '../generate/lines.js';
import { generation } from './generation-reply.js';
import type { LinePlan } from './request-settings.js';
import type { ModelScheduler } from './scheduler.js';

/**
 * A line model's lines, drawn on the model's scheduler (batched with the other
 * requests) in the rounds the library and the CLI draw them in, so the same
 * request gives the same lines in every face. As for running text, `texts`
 * leave the prime out; usage counts every draw, kept or not.
 */
export async function generateLines(scheduler: ModelScheduler, plan: LinePlan, signal: AbortSignal): Promise<GenerationResult> {
  const rounds = lineRounds(plan.draws, plan.request);
  for (let round = rounds.next(); ;) {
    if (round.done) {
      const r = round.value;
      return { texts: r.lines.map(l => l.slice(r.prime.length)), finishReasons: r.finishReasons, usage: r.usage };
    }
    round = rounds.next(await generation(scheduler.start(round.value), signal));
  }
}
