// npm run bench:load -- [--model PATH] [--seconds 20] [--connections 50] [--length 100]
// A load test of `charrnn serve` on 127.0.0.1 with autocannon: --connections
// clients sending /v1/generate requests of --length characters back to back for
// --seconds. Prints requests/s, latency p50/p99, generated chars/s and errors.
// Run by hand, not in CI; it only ever targets 127.0.0.1.
import autocannon from 'autocannon';
import { benchModel, flag, startServer } from './server-process.js';

const seconds = Number(flag('seconds') ?? 20);
const connections = Number(flag('connections') ?? 50);
const length = Number(flag('length') ?? 100);

const model = benchModel();
const server = await startServer(model, ['--max-in-flight', String(connections)]);
try {
  const result = await autocannon({
    url: `${server.url}/v1/generate`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prime: 'ROMEO:\n', length, temperature: 0.8 }),
    connections,
    duration: seconds,
  });
  const ok = result['2xx'];
  const rows: [string, string][] = [
    ['connections', String(connections)],
    ['duration', `${result.duration.toFixed(1)} s`],
    ['requests (2xx)', ok.toLocaleString('en-US')],
    ['requests/s (mean)', result.requests.average.toFixed(1)],
    ['latency p50', `${result.latency.p50} ms`],
    ['latency p99', `${result.latency.p99} ms`],
    ['generated chars/s', Math.round((ok * length) / result.duration).toLocaleString('en-US')],
    ['errors / non-2xx / timeouts', `${result.errors} / ${result.non2xx} / ${result.timeouts}`],
  ];
  console.log(`\nautocannon: POST /v1/generate {length: ${length}}, model ${model}\n`);
  console.log('| measure | value |\n|--|--:|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  if (result.errors + result.non2xx + result.timeouts > 0) process.exitCode = 1;
} finally {
  await server.stop();
}
