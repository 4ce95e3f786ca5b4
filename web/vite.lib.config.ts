// The library for browsers: one ESM bundle of src/browser (the main entry with
// the wasm engine on Web Workers), no Node built-ins, in dist/browser
// (`charrnn/browser`); the pool's worker module is emitted beside it.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  publicDir: false,
  base: './',
  build: {
    outDir: '../dist/browser',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    lib: { entry: '../src/browser/index.ts', formats: ['es'], fileName: () => 'charrnn.js' },
  },
  worker: { format: 'es' },
});
