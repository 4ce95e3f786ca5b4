// Prints the digest (./suite.ts) of one engine of ./engines.ts as JSON, run by
// the suite in a process whose environment that engine needs.
import { engine, Unavailable } from './engines.js';
import { digest } from './suite.js';

const k = await engine(process.argv[2]).load();
process.stdout.write(JSON.stringify(k instanceof Unavailable ? { unavailable: k.reason } : digest(k)));
