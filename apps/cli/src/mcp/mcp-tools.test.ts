import { describe, expect, it } from 'vitest';
import type { MetricsResponse } from '@farol/protocol';
import { condenseHistory, MCP_TOOLS, toolsAllowed } from './mcp-tools.js';

function history(points: Array<{ ts: number; cpu: number | null }>): MetricsResponse {
  return {
    agentId: 'ag_1',
    from: 0,
    to: 1,
    resolution: 'raw',
    stepMs: 1_000,
    points: points.map(({ ts, cpu }) => ({ ts, values: { cpu: { avg: cpu, min: cpu, max: cpu } } as MetricsResponse['points'][number]['values'] })),
  };
}

describe('the tools of farol mcp', () => {
  it('offers a viewer the read tools only, and an operator the actions too', () => {
    expect(toolsAllowed(['nodes:read', 'metrics:read', 'checks:read']).map((t) => t.name)).toEqual(['list_machines', 'show_machine', 'metric_history', 'list_alerts', 'list_jobs', 'show_job']);
    const operator = toolsAllowed(['nodes:read', 'commands:exec', 'containers:manage', 'alerts:manage', 'audit:read']).map((t) => t.name);
    expect(operator).toEqual(MCP_TOOLS.map((t) => t.name));
    // Restarting a container is a command of a kind that needs containers:manage too.
    expect(toolsAllowed(['nodes:read', 'commands:exec']).map((t) => t.name)).not.toContain('restart_container');
  });

  it('marks exactly the tools that change something as actions', () => {
    expect(MCP_TOOLS.filter((t) => t.isAction).map((t) => t.name).sort()).toEqual(['acknowledge_alert', 'restart_container', 'run_command', 'silence_alerts']);
  });

  it('averages a long history into at most the asked number of points, keeping min and max', () => {
    const points = Array.from({ length: 1_000 }, (_, i) => ({ ts: i * 1_000, cpu: i % 10 }));
    const condensed = condenseHistory(history(points), ['cpu'], 100);
    expect(condensed).toHaveLength(100);
    expect(condensed[0]).toEqual({ at: new Date(0).toISOString(), cpu: { avg: 4.5, min: 0, max: 9 } });
  });

  it('keeps short histories as they are and reports gaps as null', () => {
    const condensed = condenseHistory(history([{ ts: 0, cpu: 1.234 }, { ts: 1_000, cpu: null }]), ['cpu']);
    expect(condensed).toEqual([{ at: new Date(0).toISOString(), cpu: { avg: 1.23, min: 1.23, max: 1.23 } }, { at: new Date(1_000).toISOString(), cpu: null }]);
  });
});
