import type { FastifyInstance } from 'fastify';
import { parseGenerateOptions, type GenerateOptions, type GenerateSettings, type OptionNames } from '../generate/options.js';
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

/**
 * The settings of a request, checked by the generation schemas. A line model
 * writes a line, as it was trained to: from a state fed its end-of-line (put
 * before the prime, so it is counted in the prompt's characters) up to the
 * next one, unless the request says end_of_line: false.
 */
export function requestSettings(served: ServedModel, options: GenerateOptions, names: OptionNames, unknownHint: string): GenerateSettings {
  const eol = served.lineEol;
  if (eol !== null && options.endOfLine !== false && options.beam === undefined) {
    const stop = options.stop === undefined ? [] : typeof options.stop === 'string' ? [options.stop] : options.stop;
    options = { ...options, prime: eol + (options.prime ?? ''), stop: [...stop, eol] };
  }
  const settings = parseGenerateOptions(options, names);
  encodePrime(served.vocab, settings.prime, settings.unknown, unknownHint);
  return settings;
}
