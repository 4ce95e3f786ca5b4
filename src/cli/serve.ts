import { Command } from 'commander';
import { DEFAULT_LIMITS, type ServerLimits } from '../server/limits.js';
import type { CliIo } from './io.js';
import { collect, nonNegativeInt, positiveInt } from './flag-parsers.js';
import { action, type ExitStatus } from './action.js';

/** The flags of `charrnn serve`: one per server limit, and these. */
interface ServeFlags extends ServerLimits {
  port: number;
  host: string;
  name?: string[];
  token?: string;
  batching: boolean;
  backend?: string;
  static?: string;
}

export function serveCommand(io: CliIo, status: ExitStatus): Command {
  return new Command('serve')
    .description('serve models over HTTP: /v1/generate, OpenAI-compatible /v1/completions, /v1/models, /healthz, /openapi.json')
    .argument('<models...>', 'model files written by charrnn train; clients choose them by name (the file stem, or --name)')
    .option('--port <n>', 'port to listen on (0: any free one)', nonNegativeInt, 8080)
    .option('--host <address>', 'address to bind; 0.0.0.0 exposes the server to the network', '127.0.0.1')
    .option('--name <name>', 'name of the next model, in order (repeatable)', collect)
    .option('--token <token>', 'require Authorization: Bearer <token> on /v1 (default: $CHARRNN_TOKEN, if set)')
    .option('--no-batching', 'run each request on a batch of its own (for comparison)')
    .option('--backend <name>', 'auto, native, wasm or reference')
    .option('--max-length <n>', 'most characters per text', positiveInt, DEFAULT_LIMITS.maxLength)
    .option('--max-count <n>', 'most texts per request', positiveInt, DEFAULT_LIMITS.maxCount)
    .option('--max-beam <n>', 'widest beam search', positiveInt, DEFAULT_LIMITS.maxBeam)
    .option('--max-in-flight <n>', 'requests generating at once; more wait in the queue', positiveInt, DEFAULT_LIMITS.maxInFlight)
    .option('--max-queue <n>', 'requests waiting; past that 429 with Retry-After', nonNegativeInt, DEFAULT_LIMITS.maxQueue)
    .option('--body-limit <bytes>', 'largest request body', positiveInt, DEFAULT_LIMITS.bodyLimit)
    .option(
      '--max-logprobs <k>',
      'most likely characters listed per position (logprobs, char_logprobs)',
      nonNegativeInt,
      DEFAULT_LIMITS.maxLogprobs,
    )
    .option(
      '--max-trace-length <n>',
      "characters a request's log-probabilities may trace: every text's prompt and completion",
      positiveInt,
      DEFAULT_LIMITS.maxTraceLength,
    )
    .option('--static <dir>', "folder served at / with cross-origin isolation headers (default: the package's web/dist, when built)")
    .action(
      action(status, async (models: string[], flags: ServeFlags) => {
        // fastify, swagger and the engines load only for this command.
        const { serve } = await import('../server/serve-models.js');
        await serve({
          models,
          names: flags.name,
          port: flags.port,
          host: flags.host,
          token: flags.token ?? (io.env.CHARRNN_TOKEN || undefined),
          batching: flags.batching,
          backend: flags.backend,
          staticDir: flags.static,
          limits: {
            maxLength: flags.maxLength,
            maxCount: flags.maxCount,
            maxBeam: flags.maxBeam,
            maxInFlight: flags.maxInFlight,
            maxQueue: flags.maxQueue,
            bodyLimit: flags.bodyLimit,
            maxLogprobs: flags.maxLogprobs,
            maxTraceLength: flags.maxTraceLength,
          },
          log: line => io.stdout.write(`${line}\n`),
        });
      }),
    );
}
