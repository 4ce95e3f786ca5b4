// The conformance suite over native with its matmul, cell and step kernels capped
// at AVX2/FMA: the addon reads the cap once per process, hence this process.
process.env.CHARRNN_NATIVE_SIMD = 'avx2';
const { runConformance } = await import('./conformance/suite.js');
await runConformance('native-avx2');
