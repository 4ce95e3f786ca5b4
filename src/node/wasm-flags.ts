// Node-only: V8 flags for the wasm backend, set before any module is compiled.
// It lives outside src/kernels so the engine stays free of Node APIs; call it
// before loadWasmKernels() (loadNodeWasmKernels in ./wasm-threads.ts does); it
// is harmless to call more than once. V8's flags belong to the process, so
// worker threads started later run with them too.
//
// --experimental-wasm-relaxed-simd: Node 20's V8 (11.3) validates relaxed SIMD
// (the fused multiply-add build) only behind it; later versions ship the
// feature and ignore the flag. V8 reads it when it validates a module.
//
// --no-wasm-dynamic-tiering --no-wasm-lazy-compilation: by default V8 compiles
// each function on its first call with its baseline compiler (Liftoff, ~10x
// slower matmul here) and recompiles hot ones with TurboFan on background
// threads, which on a 2-core machine compete with the kernels' own threads in
// the first steps of a run. With both flags every function of the module is
// compiled by both tiers when the module is compiled (~20 ms for this one,
// checked with --trace-wasm-compilation-times: 59 TurboFan compilations before
// the first kernel call instead of a few during the run). They apply to modules
// compiled after they are set.
import v8 from 'node:v8';

let done = false;

export function enableWasmFeatures(): void {
  if (done) return;
  done = true;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  v8.setFlagsFromString('--no-wasm-dynamic-tiering');
  v8.setFlagsFromString('--no-wasm-lazy-compilation');
}
