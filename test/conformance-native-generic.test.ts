// The conformance suite over native's portable C kernels (no SIMD): the addon
// reads the cap once per process, hence this process.
process.env.CHARRNN_NATIVE_SIMD = 'generic';
const { runConformance } = await import('./conformance/suite.js');
await runConformance('native-generic');
