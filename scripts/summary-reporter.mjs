// Prints one line per test tier (the vitest projects: unit, int, e2e), then one plain closing
// line, "N passed, N failed, N skipped", after vitest's own summary, so CI and people reading
// logs get the counts in a form any tool can read. The closing line stays last: CI reads it.
// Tests that failed and then passed on their retry (vitest.config.ts, ADR 0029) are listed by
// name above it as flaky: they passed, and they still need fixing. The slowest files come first,
// so a CI run that grows past its budget says where the time went.
const line = (counts) => `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;

export default class SummaryReporter {
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
    const tiers = byTier.size > 1 || !byTier.has('tests') ? [...byTier].map(([tier, tierCounts]) => `${tier}: ${line(tierCounts)}\n`).join('') : '';
    const flakyLines = flaky.length > 0 ? `flaky, passed only on a retry (${flaky.length}):\n${flaky.map((name) => `  ${name}\n`).join('')}` : '';
    process.stdout.write(`\n${slowLines}${flakyLines}${tiers}${line(counts)}\n`);
  }
}
