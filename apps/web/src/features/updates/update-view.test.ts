import { describe, expect, it } from 'vitest';
import type { AgentBuild } from '@farol/protocol';
import { hubVersionOf, isOutdated, offeredBuilds } from './update-view.js';

const build = (version: string, own = false): AgentBuild => ({ version, own, artifacts: [] });

describe('agent update views', () => {
  it("takes the hub's own build as the version machines should run", () => {
    expect(hubVersionOf([build('0.4.0'), build('0.2.0', true)])).toBe('0.2.0');
    expect(hubVersionOf([build('0.4.0')])).toBeNull();
    expect(hubVersionOf(undefined)).toBeNull();
  });

  it('marks only numbered versions older than the hub\'s as outdated', () => {
    expect(isOutdated('0.1.9', '0.2.0')).toBe(true);
    expect(isOutdated('0.2.0', '0.2.0')).toBe(false);
    expect(isOutdated('0.3.0', '0.2.0')).toBe(false);
    expect(isOutdated('python-agent/0.1', '0.2.0')).toBe(false);
    expect(isOutdated(null, '0.2.0')).toBe(false);
    expect(isOutdated('0.1.0', null)).toBe(false);
  });

  it("offers every build but the one all the machines run, the hub's first", () => {
    const builds = [build('0.4.0'), build('0.1.0', true), build('0.3.0')];
    const one = [{ id: 'a', name: 'a', agentVersion: '0.1.0' }];
    expect(offeredBuilds(builds, one).map((b) => b.version)).toEqual(['0.4.0', '0.3.0']);
    const mixed = [...one, { id: 'b', name: 'b', agentVersion: '0.0.9' }];
    expect(offeredBuilds(builds, mixed).map((b) => b.version)).toEqual(['0.1.0', '0.4.0', '0.3.0']);
  });
});
