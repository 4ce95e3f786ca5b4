import type { FastifyInstance } from 'fastify';
import { checkLineOptions, type LineOptionNames, type LineOptions } from '../generate/line-options.js';
import { lineDraws, lineRequestOf, type LineDraws, type LineRequest } from '../generate/lines.js';
import { parseGenerateOptions, type GenerateOptions, type GenerateSettings } from '../generate/options.js';
import { encodePrime } from '../generate/encode-prime.js';
import { ApiError } from './api-error.js';
import type { ServedModel } from './served-models.js';
import './state.js';

/** The model a request names; with one model served, `model` may be left out. */
export function servedModel(app: FastifyInstance, name: string | undefined): ServedModel {
  const models = app.charrnn.models;
  const names = models.map(m => m.name).join(', ');
  if (name === undefined) {
    if (models.length === 1) return models[0];
    throw new ApiError(400, `Say which model with "model": this server has ${names}.`, 'invalid_request_error', {}, 'model');
  }
  const m = models.find(s => s.name === name);
  if (!m) throw new ApiError(404, `There is no model '${name}' here (the models are ${names}).`, 'not_found_error', {}, 'model');
  return m;
}

/** A line model's request: its draws, made in rounds by lineRounds. */
export interface LinePlan {
  draws: LineDraws;
  request: LineRequest;
}

/** What a request asks for: running text (`settings`), or from a line model whole lines (`lines`). */
export type RequestPlan = { settings: GenerateSettings; lines: null } | { settings: null; lines: LinePlan };

/**
 * A request checked by the rules every face shares: checkLineOptions (a line
 * model refuses length, stop, end_of_line and beam; other models refuse
 * max_length and novel), then the generation schemas, then the prime. A line
 * model writes whole lines as the library's handle and `charrnn sample` do:
 * each from a state fed its end-of-line, then the prime, up to the next one.
 */
export function requestPlan(
  served: ServedModel,
  options: GenerateOptions & LineOptions,
  names: LineOptionNames,
  unknownHint: string,
): RequestPlan {
  const { maxLength, novel, ...generation } = options;
  checkLineOptions(options, served.line !== null, `the model '${served.name}'`, names);
  const settings = parseGenerateOptions(generation, names);
  encodePrime(served.vocab, settings.prime, settings.unknown, unknownHint);
  if (served.line === null) return { settings, lines: null };
  const request = lineRequestOf(settings, served.line, { maxLength, novel });
  return { settings: null, lines: { draws: lineDraws(served.vocab, request, names), request } };
}
