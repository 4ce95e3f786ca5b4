// The playground: a static site in web/dist (hostable anywhere; `charrnn serve`
// serves it at / with the cross-origin isolation headers that give training threads).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  worker: { format: 'es' },
});
