/**
 * Prometheus text format for families with a series per machine or container (issue #16).
 * prom-client stores every series in a map keyed by its sorted labels and formats them again at
 * each scrape: for 10,000 machines that held the event loop for ~250 ms per scrape, and
 * writing the text directly takes ~55 ms. The families are served by
 * `observability.addTextSection`, after the registry's own.
 */

/** What a text section needs: the hub label every series carries (issue #14) and where to add it. */
export interface MetricsTextTarget {
  hubId?: string | undefined;
  addTextSection(render: () => Promise<string>): void;
}

/** A label value in the text format: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** `{a="x",b="y",hub="h"}`, or '' without any label. */
export function labelSet(labels: ReadonlyArray<readonly [string, string]>, hubId: string | undefined): string {
  const all = hubId === undefined ? labels : [...labels, ['hub', hubId] as const];
  return all.length === 0 ? '' : `{${all.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

/**
 * One gauge family: HELP, TYPE and a line per series with a finite value (null, NaN and
 * infinities are left out, as an absent series). `labels` is a rendered `labelSet`.
 */
export function gaugeFamily(name: string, help: string, series: Iterable<readonly [labels: string, value: number | null]>): string {
  const lines = [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} gauge\n`];
  for (const [labels, value] of series) if (value !== null && Number.isFinite(value)) lines.push(`${name}${labels} ${value}\n`);
  return lines.join('');
}
