// The playground: a static site in web/dist (hostable anywhere; `charrnn serve`
// serves it at / with the cross-origin isolation headers that give training threads).
import { defineConfig } from 'vite';

/** What makes the page cross-origin isolated, so training may use threads (`charrnn serve` sends the same). */
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', headers: isolation },
  preview: { host: '127.0.0.1', headers: isolation },
});
