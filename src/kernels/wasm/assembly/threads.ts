// What a kernel needs to run on several threads at once: how many threads
// take part, a shared control block, work items claimed from shared counters,
// and a barrier between phases.
//
// Every thread (the main thread and each worker) instantiates the same module
// over the same shared memory. WebAssembly globals belong to an instance, so the
// globals below (and gemm's aPack) are per thread; everything shared lives in
// memory. The module keeps no shadow stack and allocates nothing (runtime stub,
// pointer arithmetic only), so instances never hand out the same memory twice.
//
// Work items are claimed with an atomic increment, so where a phase has many
// items a thread that loses its core for a while holds up one item, not a fixed
// share. Results never depend on who runs an item: every item writes its own
// outputs, computed exactly as the single-threaded kernel computes them.

/** Byte offsets in the control block (one 64-byte line each); ../pool.ts has the same layout. */
// @ts-ignore: decorator
@inline const ABORT: usize = 128;
// @ts-ignore: decorator
@inline const BAR_COUNT: usize = 192;
// @ts-ignore: decorator
@inline const BAR_GEN: usize = 256;
// @ts-ignore: decorator
@inline const BAR_WAITERS: usize = 320;
/** Item counters, one line each: a kernel's phase p claims from counter p. The pool zeroes them before each job. */
// @ts-ignore: decorator
@inline const COUNTERS: usize = 384;
export const COUNTER_SLOTS: i32 = 8;

/** Spins on a barrier before sleeping (where sleeping is allowed): tens of microseconds. */
// @ts-ignore: decorator
@inline const SPINS: i32 = 20000;

/** Threads that take part in every job. */
export let threadCount: i32 = 1;
let control: usize = 0;
/** Whether this thread may block in memory.atomic.wait (a browser's main thread may not). */
let canSleep: bool = false;

/** Sets up this instance (each thread's own) for jobs over the control block at `controlBlock`. */
export function threadInit(count: i32, controlBlock: usize, sleep: bool): void {
  threadCount = count;
  control = controlBlock;
  canSleep = sleep;
}

/** Whether a thread failed: the others stop claiming work and leave barriers, and the job reports the failure. */
// @ts-ignore: decorator
@inline function aborted(): bool {
  return atomic.load<i32>(control + ABORT) != 0;
}

/**
 * The next item of phase `slot` (0 .. COUNTER_SLOTS-1) for this thread; items
 * at or past the phase's count mean it is done. Each phase of a job uses its own
 * counter, so a late claim on a finished phase cannot take an item of the next.
 */
// @ts-ignore: decorator
@inline export function nextItem(slot: i32): i32 {
  if (aborted()) return i32.MAX_VALUE;
  return atomic.add<i32>(control + COUNTERS + (<usize>slot << 6), 1);
}

/**
 * Waits until every thread of the job has arrived. Sense by generation: the last
 * to arrive resets the count and then bumps the generation the others watch.
 */
export function barrier(): void {
  if (threadCount == 1) return;
  const gen = control + BAR_GEN;
  const g = atomic.load<i32>(gen);
  if (atomic.add<i32>(control + BAR_COUNT, 1) == threadCount - 1) {
    atomic.store<i32>(control + BAR_COUNT, 0);
    atomic.store<i32>(gen, g + 1);
    if (atomic.load<i32>(control + BAR_WAITERS) > 0) atomic.notify(gen);
    return;
  }
  let spins = 0;
  while (atomic.load<i32>(gen) == g && !aborted()) {
    if (++spins < SPINS || !canSleep) continue;
    // Announce the sleep before checking the generation again inside wait, so the
    // last thread either sees a waiter and notifies, or this wait sees the new generation.
    atomic.add<i32>(control + BAR_WAITERS, 1);
    memory.atomic.wait32(gen, g, 1000000); // 1 ms: an abort (no notify) is noticed soon
    atomic.sub<i32>(control + BAR_WAITERS, 1);
    spins = 0;
  }
}

/** Items of `size` covering n, the last one shorter. */
// @ts-ignore: decorator
@inline export function itemsOf(n: i32, size: i32): i32 {
  return (n + size - 1) / size;
}
