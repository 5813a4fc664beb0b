import { defineConfig } from 'vite';

/**
 * The console is served by the API at /console (see api/console.ts), so it is built for that base.
 * `npx vite console` serves it with reloads while you work; the API calls go to the API that
 * `npm start` runs (CONSOLE_API, default http://127.0.0.1:3000).
 */
const api = process.env.CONSOLE_API ?? 'http://127.0.0.1:3000';

export default defineConfig({
  base: '/console/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline assets: the CSP allows only files from this origin.
    assetsInlineLimit: 0,
    sourcemap: true,
    target: 'es2022',
  },
  server: {
    proxy: { '^/(?!console/)': { target: api, changeOrigin: false } },
  },
});
