// Prints one line per test tier (the vitest projects: unit, int, e2e), then one plain closing
// line, "N passed, N failed, N skipped", after vitest's own summary, so CI and people reading
// logs get the counts in a form any tool can read. The closing line stays last: CI reads it.
// Tests that failed and then passed on their retry (vitest.config.ts, ADR 0029) are listed by
// name above it as flaky: they passed, and they still need fixing. The slowest files come first,
// then the last files to end with their start and end times (a long file started late is a tail),
// so a CI run that grows past its budget says where the time went.
const line = (counts) => `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;

export default class SummaryReporter {
  /** When each file started and ended (ms since the run began): the last ones to end show a run's tail. */
  started = new Map();
  ended = new Map();
  runStart = Date.now();

  onTestRunStart() {
    this.runStart = Date.now();
  }

  onTestModuleStart(testModule) {
    this.started.set(testModule.moduleId, Date.now() - this.runStart);
  }

  onTestModuleEnd(testModule) {
    this.ended.set(testModule.moduleId, Date.now() - this.runStart);
  }

  onTestRunEnd(testModules) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const byTier = new Map();
    const flaky = [];
    const durations = [];
    for (const testModule of testModules) {
      const tier = testModule.project?.name || 'tests';
      if (!byTier.has(tier)) byTier.set(tier, { passed: 0, failed: 0, skipped: 0 });
      const tierCounts = byTier.get(tier);
      const add = (state) => {
        counts[state]++;
        tierCounts[state]++;
      };
      durations.push({ name: `${tier} ${testModule.moduleId.replace(process.cwd() + '/', '')}`, ms: testModule.diagnostic().duration });
      let failedTests = 0;
      for (const testCase of testModule.children.allTests()) {
        const state = testCase.result().state;
        const diagnostic = testCase.diagnostic();
        if (state === 'passed' && diagnostic?.flaky) flaky.push(`${testModule.project?.name || 'tests'} ${testModule.moduleId.replace(process.cwd() + '/', '')} > ${testCase.fullName} (passed on retry ${diagnostic.retryCount})`);
        if (state === 'failed') failedTests++;
        add(state === 'passed' || state === 'failed' ? state : 'skipped');
      }
      // A file that failed outside its tests (import error, a failing beforeAll that skipped them
      // all) counts as one failure, so the closing line never says "0 failed" for a red run.
      if (testModule.state() === 'failed' && failedTests === 0) add('failed');
    }
    const slowest = durations.sort((a, b) => b.ms - a.ms).slice(0, 15);
    const slowLines = slowest.length > 1 ? `slowest files:\n${slowest.map(({ name, ms }) => `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${name}\n`).join('')}` : '';
    const lastEnded = [...this.ended].sort((a, b) => b[1] - a[1]).slice(0, 5);
    const seconds = (ms) => (ms / 1000).toFixed(0);
    const tailLines =
      lastEnded.length > 1 ? `last files to end (s since the run began):\n${lastEnded.map(([id, end]) => `  ${seconds(this.started.get(id) ?? 0).padStart(5)}-${seconds(end).padEnd(5)} ${id.replace(process.cwd() + '/', '')}\n`).join('')}` : '';
    const tiers = byTier.size > 1 || !byTier.has('tests') ? [...byTier].map(([tier, tierCounts]) => `${tier}: ${line(tierCounts)}\n`).join('') : '';
    const flakyLines = flaky.length > 0 ? `flaky, passed only on a retry (${flaky.length}):\n${flaky.map((name) => `  ${name}\n`).join('')}` : '';
    process.stdout.write(`\n${slowLines}${tailLines}${flakyLines}${tiers}${line(counts)}\n`);
  }
}
