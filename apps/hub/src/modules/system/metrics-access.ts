import ipaddr from 'ipaddr.js';

/** True for an address only this machine can reach: 127.0.0.0/8, ::1, `localhost`. */
export function isLoopbackBind(bind: string): boolean {
  const host = bind.startsWith('[') && bind.endsWith(']') ? bind.slice(1, -1) : bind;
  if (host.toLowerCase() === 'localhost') return true;
  if (!ipaddr.isValid(host)) return false;
  let address = ipaddr.parse(host);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
  return address.range() === 'loopback';
}

/**
 * Whether GET /metrics answers without a token (#11): `/metrics` names every machine and its
 * containers, so a hub reachable from other machines asks for a bearer token with
 * `metrics:read`, unless the operator opens it (FAROL_METRICS_PUBLIC=true, e.g. for a
 * Prometheus on a trusted network). A hub on loopback keeps it open, as before.
 */
export function isMetricsPublic({ bind, metricsPublic }: { bind: string; metricsPublic?: boolean | undefined }): boolean {
  return metricsPublic ?? isLoopbackBind(bind);
}
