// The backend-conformance suite (test/conformance/) over every engine of the main
// process: the reference backend, wasm, and native at its best instruction set.
delete process.env.CHARRNN_NATIVE_SIMD; // the addon reads the cap once per process: none in this one
const { runConformance } = await import('./conformance/suite.js');
await runConformance('main');
