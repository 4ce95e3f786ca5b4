// Helpers of the server benchmarks: a realistic model, and `charrnn serve` as a child process on 127.0.0.1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** The value of `--flag v` in argv, or undefined. */
export function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The value of every `--flag v` in argv, in order. */
export function flags(name: string): string[] {
  return process.argv.flatMap((a, i) => (a === `--${name}` && i + 1 < process.argv.length ? [process.argv[i + 1]] : []));
}

/** A model to serve: --model PATH, or an LSTM of `size` (LAYERSxHIDDEN) trained for 20 s on --text FILE. */
export function benchModel(size = '2x128'): string {
  const given = flag('model');
  if (given) return given;
  return trainBenchModel(size);
}

/**
 * The models to serve: every --model PATH, or LSTMs of the given sizes trained
 * for 20 s each (their speed depends on their sizes, not on how well they learned).
 */
export function benchModels(sizes: string[]): string[] {
  const given = flags('model');
  return given.length > 0 ? given : sizes.map(trainBenchModel);
}

function trainBenchModel(size: string): string {
  const [layers, hidden] = size.split('x');
  const corpus = flag('text');
  if (corpus === undefined || !existsSync(corpus)) {
    process.stderr.write(
      `bench: ${corpus === undefined ? 'give the text to train the benchmark models on with --text FILE' : `there is no file ${corpus}`} (or a model with --model PATH).\n`,
    );
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'charrnn-bench-serve-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true })); // the model is the benchmark's own
  process.stderr.write(`training a ${size} LSTM on ${corpus} for 20 s ...\n`);
  const r = spawnSync(
    process.execPath,
    [MAIN, 'train', corpus, '--layers', layers, '--hidden', hidden, '--seconds', '20', '--out', dir, '--quiet', '--sample-length', '0'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0) throw new Error('training the benchmark model failed');
  return join(dir, 'model.safetensors');
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux); NaN elsewhere. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `charrnn serve MODEL --port 0 ...args` and resolves with its address once it listens. */
export async function startServer(model: string, args: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN, 'serve', model, '--port', '0', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = / at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', code => reject(new Error(`charrnn serve exited ${code}: ${out}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise(resolve => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
