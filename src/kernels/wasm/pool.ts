// The wasm backend's threads: a persistent pool of workers, each running the
// same compiled WebAssembly.Module over the same shared memory, that every
// threaded kernel call runs on at once with the calling thread.
//
// Why this design. The issue named two: (1) a pool under the kernel interface
// that splits the kernels' work, (2) data parallelism over the batch (each thread
// a replica of the model on B/threads streams, then a gradient sum). The pool
// here is (1), with the recurrence split the way (2) splits it: by streams. A
// stream's recurrence never reads another stream's rows, so each thread runs all
// T steps of its own streams with no synchronisation inside the time loop; the
// big products (input projections, weight gradients, dx, the output layer) are
// split into output tiles; a cell call has 2 barriers, not 2 per time step.
// Measured on the 2-core development machine (Node 20, relaxed SIMD) with
// `node scripts/bench-wasm.mjs 1 --data-parallel` while it was otherwise idle:
// forward + backward of the benchmark's 2x128 LSTM (GRU), B = 50, T = 50:
//   one thread                                                 97.0 ms  (75.8 ms)
//   this pool, 2 threads                                       52.5 ms  (40.2 ms)  1.85x (1.89x)
//   (2) 2 replicas x B = 25 on one-thread kernels, then the    51.0 ms  (39.4 ms)
//       gradient sum: its bound (no optimizer step, no model plumbing)
// and, against per-step splitting (a split of the 4H gate columns with a barrier
// per step, or each step's product split on its own):
//   the pool with a barrier after every time step (an experiment)   +1 ms
//   one step's product [50x128]·[128x512] as a pool job              171 -> 97 us, with the
//       step's elementwise work still to split and to synchronise
// (2) is 2-3% faster at its bound, but needs a copy of every activation buffer
// per thread (the model owns them, so the model API would change), and its
// gradient sum groups terms by thread, so results would depend on the thread
// count. The pool slots in under the kernel interface, gives the single-threaded
// results bit for bit, and reaches the target: `charrnn bench --vs-pytorch` ran
// small at 45,500-45,800 chars/s against PyTorch's 32,000-42,000 (one thread
// here), gru-small at 58,300 against 47,900.
//
// Platform-neutral: the platform starts workers through a WasmThreadSpawner
// (Node: src/node/wasm-threads.ts with worker_threads). In a browser, a spawner
// creates `new Worker(url, { type: 'module' })` for a module whose body is
// `self.onmessage = e => runWasmWorker(e.data, () => postMessage('ready'))`,
// posts the WasmWorkerInit (a Module and a shared Memory are cloneable; the page
// must be cross-origin isolated for SharedArrayBuffer) and resolves on 'ready';
// mainThreadCanBlock is false there, so the dispatching thread only spins.
//
// Protocol, all in a control block in the shared memory (layout below, mirrored
// in assembly/threads.ts): the dispatcher writes the job (an index into
// THREADED_JOBS and its numeric arguments), zeroes the item counters and DONE,
// then bumps GEN. Workers spin on GEN for a while, then sleep in Atomics.wait
// (announced in SLEEPERS, so the dispatcher only notifies when someone sleeps);
// each runs the job's export with the same arguments, then adds 1 to DONE. The
// dispatcher runs the job itself as thread 0 and waits for DONE to reach the
// worker count. Inside a job, threads claim work items from counters and meet at
// barriers (assembly/threads.ts).

/** One started worker, as the platform made it. */
export interface WasmWorkerHandle {
  /** Stops the worker (Worker.terminate in Node and browsers alike); a promise it returns is awaited by dispose. */
  terminate(): unknown;
}

/** What a worker is started with. It is posted to the worker, so it holds only cloneable values. */
export interface WasmWorkerInit {
  /** The kernels' compiled module, the one the loading thread instantiated. */
  module: WebAssembly.Module;
  /** The shared memory every thread's instance imports. */
  memory: WebAssembly.Memory;
  /** Byte offset of the pool's control block in memory. */
  control: number;
  /** This worker's thread index, 1 .. threads-1 (0 is the dispatching thread). */
  thread: number;
  /** Threads in the pool, the dispatching one included. */
  threads: number;
  /** Byte offset of this thread's own matmul packing scratch (packScratchFloats() floats). */
  packScratch: number;
}

/** The platform's part of threading: starting workers. */
export interface WasmThreadSpawner {
  /**
   * Starts a worker that calls runWasmWorker(init, ready) from ./worker.ts, and
   * resolves once it has called ready (its instance is set up).
   */
  spawn(init: WasmWorkerInit): Promise<WasmWorkerHandle>;
  /** Whether the loading thread may block in Atomics.wait: yes on Node's main thread, no on a browser's. */
  readonly mainThreadCanBlock: boolean;
}

/** The exports every thread calls, by index: the *Threaded kernels of assembly/index.ts. */
export const THREADED_JOBS = [
  'matmulThreaded',
  'addBiasThreaded',
  'sumRowsThreaded',
  'softmaxCrossEntropyThreaded',
  'multiplyThreaded',
  'scaleThreaded',
  'adamThreaded',
  'rmspropThreaded',
  'sgdThreaded',
  'lstmForwardThreaded',
  'gruForwardThreaded',
  'rnnForwardThreaded',
  'lstmBackwardThreaded',
  'gruBackwardThreaded',
  'rnnBackwardThreaded',
] as const;
export type ThreadedJob = (typeof THREADED_JOBS)[number];
export type JobFunction = (...args: number[]) => unknown;

/** The per-instance setup every thread's instance needs (assembly/threads.ts, assembly/gemm.ts). */
export interface ThreadedExports {
  threadInit(count: number, control: number, canSleep: number): void;
  setPackScratch(p: number): void;
}

// Control block, Int32 indices of byte offsets (each on its own 64-byte line);
// ABORT .. COUNTERS are also read by assembly/threads.ts at the same bytes.
export const GEN = 0;
export const DONE = 64 / 4;
export const ABORT = 128 / 4;
const BAR_GEN = 256 / 4;
const COUNTERS = 384 / 4;
const COUNTER_SLOTS = 8;
export const QUIT = 896 / 4;
export const SLEEPERS = 960 / 4;
export const JOB = 1024 / 4;
export const NARGS = JOB + 1;
/** Byte offset of the job's arguments, as f64. */
export const ARGS_BYTES = 1088;
export const MAX_ARGS = 32;
export const CONTROL_BYTES = ARGS_BYTES + MAX_ARGS * 8;

/**
 * Atomics.load polls a thread makes before it sleeps: each poll is a few ns, so
 * this is tens of microseconds, enough to catch the next kernel of a training
 * step without a wake-up (~15 us), short enough not to hold a core when idle.
 */
export const SPINS = 20000;

/** The control block's Int32 view and its f64 arguments, over the memory's current buffer. */
export function controlViews(memory: WebAssembly.Memory, control: number): { ctl: Int32Array; args: Float64Array } {
  return {
    ctl: new Int32Array(memory.buffer, control, CONTROL_BYTES / 4),
    args: new Float64Array(memory.buffer, control + ARGS_BYTES, MAX_ARGS),
  };
}

/** Wakes the barrier sleepers of assembly/threads.ts: after an abort, a thread waiting for a failed one must not sleep on. */
export function wakeBarrier(ctl: Int32Array): void {
  Atomics.notify(ctl, BAR_GEN);
}

export class WasmThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly jobs: JobFunction[];
  private failed: string | null = null;
  private disposed = false;
  private jobsRun = 0;

  private constructor(
    private readonly handles: WasmWorkerHandle[],
    memory: WebAssembly.Memory,
    control: number,
    exports: Record<ThreadedJob, JobFunction>,
    private readonly canBlock: boolean,
  ) {
    ({ ctl: this.ctl, args: this.args } = controlViews(memory, control));
    this.jobs = THREADED_JOBS.map(name => exports[name]);
  }

  /** Threads that run each job, the calling one included. */
  get threads(): number {
    return this.handles.length + 1;
  }

  /**
   * Starts threads-1 workers over `memory`. `instance` is the loading thread's
   * instance (thread 0); `control` is a zeroed CONTROL_BYTES block and
   * `packScratch` one packing scratch per worker, all in memory.
   */
  static async start(
    spawner: WasmThreadSpawner,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    exports: Record<ThreadedJob, JobFunction> & ThreadedExports,
    threads: number,
    control: number,
    packScratch: number[],
  ): Promise<WasmThreadPool> {
    exports.threadInit(threads, control, spawner.mainThreadCanBlock ? 1 : 0);
    const started = await Promise.allSettled(
      Array.from({ length: threads - 1 }, (_, i) =>
        spawner.spawn({ module, memory, control, thread: i + 1, threads, packScratch: packScratch[i] }),
      ),
    );
    const handles = started.flatMap(s => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const pool = new WasmThreadPool(handles, memory, control, exports, spawner.mainThreadCanBlock);
    if (failure) {
      await pool.dispose();
      const reason: unknown = failure.reason;
      throw new Error(`wasm kernels: a worker thread failed to start: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
    return pool;
  }

  /** Jobs run so far. */
  get calls(): number {
    return this.jobsRun;
  }

  /** Whether jobs still run on the pool (false after dispose or a failure). */
  get running(): boolean {
    return !this.disposed && this.failed === null;
  }

  /** Runs `job` with `args` on every thread, this one included, and returns when all are done. */
  run(job: number, args: number[]): void {
    if (this.failed !== null) throw new Error(this.failed);
    this.jobsRun++;
    const c = this.ctl;
    const workers = this.handles.length;
    for (let i = 0; i < COUNTER_SLOTS; i++) c[COUNTERS + i * 16] = 0;
    c[DONE] = 0;
    c[JOB] = job;
    c[NARGS] = args.length;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i];
    // Publishes everything above: a worker reads it after seeing the new GEN.
    Atomics.add(c, GEN, 1);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, GEN);
    let error: unknown = null;
    try {
      this.jobs[job](...args);
    } catch (e) {
      error = e;
      Atomics.store(c, ABORT, 1);
      wakeBarrier(c);
    }
    let spins = 0;
    for (let d = Atomics.load(c, DONE); d < workers; d = Atomics.load(c, DONE)) {
      if (++spins < SPINS || !this.canBlock) continue;
      Atomics.wait(c, DONE, d, 100); // the last worker notifies; the timeout is only a safety net
      spins = 0;
    }
    if (error !== null || Atomics.load(c, ABORT) !== 0) {
      // A thread stopped part-way: the job's outputs are incomplete, and the pool is not trusted again.
      const why = error instanceof Error ? error.message : error !== null ? String(error) : 'a worker thread failed';
      this.failed = `wasm kernels: a threaded ${THREADED_JOBS[job]} failed (${why}); the thread pool is stopped`;
      throw new Error(this.failed);
    }
  }

  /** Stops the workers; safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, QUIT, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    await Promise.all(this.handles.map(h => h.terminate()));
  }
}
