import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const version = (JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string }).version;

export default defineConfig({
  define: { __FAROL_VERSION__: JSON.stringify(version) },
  plugins: [
    {
      // Install scripts are kept as real .sh/.ps1 files and imported as text (esbuild does the
      // same with its text loader in scripts/build.mjs).
      name: 'farol-text-files',
      transform(code, id) {
        if (id.endsWith('.sh') || id.endsWith('.ps1')) return { code: `export default ${JSON.stringify(code)};`, map: null };
        return undefined;
      },
    },
  ],
  test: {
    reporters: ['default', './scripts/summary-reporter.mjs'],
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration and e2e tests start real processes and bind ports; the machine has two cores.
    maxWorkers: 2,
  },
});
