import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import rootPackage from '../../package.json' with { type: 'json' };

/** Where `npm run dev -w @farol/web` sends API and socket traffic (a hub from `npm start`). */
const devHub = 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: {
    alias: {
      // Radix's scroll lock injects <style> elements, which the CSP forbids; this does the same
      // with a constructed stylesheet (src/app/csp-style-singleton.ts).
      'react-style-singleton': fileURLToPath(new URL('./src/app/csp-style-singleton.ts', import.meta.url)),
    },
  },
  define: { __FAROL_VERSION__: JSON.stringify(rootPackage.version) },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Inlined assets would become data: URLs; keeping them as files keeps the CSP simple.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 700,
  },
  server: {
    proxy: {
      '/api': devHub,
      '/install.sh': devHub,
      '/install.ps1': devHub,
      '/socket.io': { target: devHub, ws: true },
    },
  },
});
