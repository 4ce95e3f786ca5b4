// Node-only: turns on the WebAssembly features the wasm backend can use. Node 20's
// V8 (11.3) validates relaxed SIMD (the fused multiply-add build) only behind
// --experimental-wasm-relaxed-simd; later versions ship it and ignore the flag.
// V8 reads the flag when it validates a module, so call this before
// loadWasmKernels(); it is harmless to call more than once. It lives outside
// src/kernels so the engine stays free of Node APIs.
import v8 from 'node:v8';

let done = false;

export function enableWasmFeatures(): void {
  if (done) return;
  done = true;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
}
