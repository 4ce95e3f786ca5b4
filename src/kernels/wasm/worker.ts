// The body of one worker thread of the wasm backend's pool (./pool.ts), for any
// platform: the platform's worker script calls runWasmWorker with the
// WasmWorkerInit it was posted (Node: src/node/wasm-worker.ts).
//
// After setup the worker never returns to its event loop: it waits for jobs on
// the control block (spinning, then Atomics.wait, which workers may do
// everywhere) until the pool sets QUIT or the platform terminates it.

import {
  ABORT,
  controlViews,
  DONE,
  GEN,
  JOB,
  NARGS,
  QUIT,
  SLEEPERS,
  SPINS,
  THREADED_JOBS,
  wakeBarrier,
  type JobFunction,
  type ThreadedExports,
  type ThreadedJob,
  type WasmWorkerInit,
} from './pool.js';

/**
 * Instantiates the kernels in this thread, calls `ready`, then runs jobs until
 * the pool quits or a job throws. `report` hears about a job that threw (the
 * pool also sees it, through ABORT, and fails the call).
 */
export async function runWasmWorker(init: WasmWorkerInit, ready: () => void, report: (error: unknown) => void = () => {}): Promise<void> {
  const instance = await WebAssembly.instantiate(init.module, { env: { memory: init.memory } });
  const e = instance.exports as unknown as Record<ThreadedJob, JobFunction> & ThreadedExports;
  e.threadInit(init.threads, init.control, 1);
  e.setPackScratch(init.packScratch);
  const jobs = THREADED_JOBS.map(name => e[name]);
  // The control block sits in the memory's first pages, so these views stay valid as it grows.
  const { ctl, args } = controlViews(init.memory, init.control);
  const call: number[] = [];
  let seen = Atomics.load(ctl, GEN);
  ready();
  for (;;) {
    let spins = 0;
    let g: number;
    while ((g = Atomics.load(ctl, GEN)) === seen) {
      if (++spins < SPINS) continue;
      // Announce the sleep first: the dispatcher bumps GEN, then notifies if it sees a sleeper;
      // otherwise this wait sees the new GEN and returns at once.
      Atomics.add(ctl, SLEEPERS, 1);
      Atomics.wait(ctl, GEN, seen);
      Atomics.sub(ctl, SLEEPERS, 1);
      spins = 0;
    }
    seen = g;
    if (Atomics.load(ctl, QUIT) !== 0) return;
    const n = ctl[NARGS];
    call.length = n;
    for (let i = 0; i < n; i++) call[i] = args[i];
    let failed = false;
    try {
      jobs[ctl[JOB]](...call);
    } catch (err) {
      Atomics.store(ctl, ABORT, 1);
      wakeBarrier(ctl);
      report(err);
      failed = true;
    }
    if (Atomics.add(ctl, DONE, 1) === init.threads - 2) Atomics.notify(ctl, DONE);
    // The pool stops after a failed job; returning lets the platform's event loop run (and print the report).
    if (failed) return;
  }
}
