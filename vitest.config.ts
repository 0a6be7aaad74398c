import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Tests that drive real processes, sockets and browsers on a busy two-core machine are retried
 * once (ADR 0029). A test that only passes on its retry is still reported, by name, in the summary
 * (scripts/summary-reporter.mjs) as flaky, so it is fixed rather than forgotten; one that fails
 * twice fails the run. `FAROL_TEST_RETRY=0` turns the retry off (as when hunting a flaky test).
 */
const retry = process.env.FAROL_TEST_RETRY === undefined ? 1 : Number(process.env.FAROL_TEST_RETRY);

/**
 * The longest files, longest first (seconds measured in CI, scripts/summary-reporter.mjs lists
 * them). A clean clone has no timings cached, and vitest then starts the largest files first,
 * which put the five-minute container image build near the end, on one worker while the other
 * idled. Started first, the long files overlap everything else.
 */
const LONGEST_FIRST = [
  'tests/e2e/container-images.e2e.test.ts', // 267-345 s
  'tests/e2e/several-hubs-outages.e2e.test.ts', // ~130 s
  'tests/e2e/several-hubs-rebalance.e2e.test.ts', // 65-87 s
  'tests/e2e/containers-auto-update.e2e.test.ts', // 80-95 s
  'tests/e2e/web/checks.e2e.test.ts', // ~67 s
];

class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const index = LONGEST_FIRST.findIndex((file) => spec.moduleId.endsWith(file));
      return index === -1 ? LONGEST_FIRST.length : index;
    };
    // A stable sort: the rest keep vitest's order.
    return sorted.map((spec, order) => ({ spec, order })).sort((a, b) => rank(a.spec) - rank(b.spec) || a.order - b.order).map(({ spec }) => spec);
  }
}

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
    // Three tiers (issue #21), each its own project so a run reports them apart:
    //   unit  `*.test.ts` beside the code: no processes, no sockets to other processes, no sleeps;
    //   int   `*.int.test.ts`: real SQLite, real hubs and agents in-process or as processes;
    //   e2e   tests/e2e and tests/**/*.system.test.ts: built bundles, browsers, whole systems.
    // `unit` and `int` files share their worker's modules (`isolate: false`): loading the hub
    // anew for every file was 70 % of `unit`'s time and 40 % of `int`'s. What a file changes for
    // the whole process it undoes (a hub restores what it patched when it closes). `int-pg`
    // too: its hubs go to PostgreSQL through testing/start-test-hub.ts, not a module mock.
    // `npx vitest run --project unit` runs one tier.
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'tests/docs/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.int.test.ts'],
          isolate: false,
        },
      },
      {
        extends: true,
        test: { name: 'int', retry, include: ['packages/*/src/**/*.int.test.ts', 'apps/*/src/**/*.int.test.ts', 'tests/fuzz/**/*.test.ts'], isolate: false },
      },
      {
        extends: true,
        test: { name: 'e2e', retry, include: ['tests/e2e/**/*.test.ts', 'tests/**/*.system.test.ts'] },
      },
      // The hub's integration tests again on PostgreSQL (issue #13), each hub in a database of its
      // own: `FAROL_TEST_DB=postgres npx vitest run --project int-pg`. Tests that open, damage or
      // copy the SQLite file itself (or test SQLite-only features) are guarded with
      // `isPostgresRun()`; the PostgreSQL-specific files already run in `int` and are left out.
      ...(process.env.FAROL_TEST_DB === 'postgres'
        ? [
            {
              extends: true as const,
              test: {
                name: 'int-pg',
                retry,
                isolate: false,
                include: ['apps/hub/src/**/*.int.test.ts'],
                exclude: [
                  '**/node_modules/**',
                  'apps/hub/src/infra/postgres.int.test.ts',
                  'apps/hub/src/infra/postgres-tls.int.test.ts',
                  'apps/hub/src/infra/db-copy.int.test.ts',
                  'apps/hub/src/infra/history-partitions.int.test.ts',
                ],
                setupFiles: ['apps/hub/src/testing/postgres-setup.ts'],
              },
            },
            // The core end-to-end tests (enroll, report, exec, jobs, audit) with their hub processes
            // on PostgreSQL, each hub in a database of its own (tests/e2e/support/processes.ts).
            {
              extends: true as const,
              test: {
                name: 'e2e-pg',
                retry,
                include: ['tests/e2e/fleet.e2e.test.ts', 'tests/e2e/remote.e2e.test.ts'],
                setupFiles: ['tests/e2e/support/postgres-setup.ts'],
              },
            },
          ]
        : []),
    ],
    sequence: { sequencer: LongestFirstSequencer },
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration and e2e tests start real processes and bind ports; the machine has two cores.
    maxWorkers: 2,
  },
});
