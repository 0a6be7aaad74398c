import { describe, expect, it } from 'vitest';
import { createLocalHubRelay, HubUnreachableError } from './hub-relay.js';
import { createMemoryPresenceDirectory } from './presence-directory.js';

describe('the in-memory presence directory (one hub, issue #14)', () => {
  it('names this hub as the holder of an agent from hold until its connection is released', async () => {
    const directory = createMemoryPresenceDirectory('hub-a');
    expect(directory.holderOf('ag_1')).toBeUndefined();
    await directory.hold('ag_1', { sessionId: 's1', lastHeard: 1_000, intervalMs: 10_000 });
    expect(directory.holderOf('ag_1')).toEqual({ hubId: 'hub-a', sessionId: 's1', lastHeard: 1_000, intervalMs: 10_000 });
    directory.heard('ag_1', 2_000, 5_000);
    expect(directory.holderOf('ag_1')).toMatchObject({ lastHeard: 2_000, intervalMs: 5_000 });
    expect(await directory.release('ag_1', 's1')).toBe(true);
    expect(directory.holderOf('ag_1')).toBeUndefined();
  });

  it('keeps an agent online when the late close of a replaced connection arrives', async () => {
    const directory = createMemoryPresenceDirectory('hub-a');
    await directory.hold('ag_1', { sessionId: 'old', lastHeard: 1, intervalMs: 10_000 });
    await directory.hold('ag_1', { sessionId: 'new', lastHeard: 2, intervalMs: 10_000 });
    expect(await directory.release('ag_1', 'old')).toBe(false);
    expect(directory.holderOf('ag_1')?.sessionId).toBe('new');
  });

  it('knows of no other hub: nothing is held elsewhere, so a start marks every stored agent offline as before', async () => {
    const directory = createMemoryPresenceDirectory('hub-a');
    await directory.hold('ag_1', { sessionId: 's', lastHeard: 1, intervalMs: 10_000 });
    expect(await directory.heldElsewhere()).toEqual(new Set());
  });
});

describe('the local hub relay (one hub, issue #14)', () => {
  it('owns everything and has nobody to call', async () => {
    const relay = createLocalHubRelay('hub-a');
    expect(relay.shared).toBe(false);
    expect(await relay.adopt('job', 'job_1', 1_000)).toBe(true);
    expect(await relay.remoteOwnerOf('job', 'job_1')).toBeNull();
    await expect(relay.call('hub-b', 'anything', {})).rejects.toBeInstanceOf(HubUnreachableError);
  });
});
