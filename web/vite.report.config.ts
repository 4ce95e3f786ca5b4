// The HTML report's script: web/inside/report-entry.ts (the shared Inside view)
// as one IIFE with its CSS beside it, in dist/explain-report, which
// `charrnn explain` reads and inlines into each report it writes.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  publicDir: false,
  base: './',
  build: {
    outDir: '../dist/explain-report',
    emptyOutDir: true,
    target: 'es2022',
    // Readable: a reader of a report can see what its script does.
    minify: false,
    cssCodeSplit: false,
    lib: {
      entry: 'inside/report-entry.ts',
      formats: ['iife'],
      name: 'charrnnExplainReport',
      fileName: () => 'report.js',
      cssFileName: 'report',
    },
  },
});
