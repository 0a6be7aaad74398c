import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema, LabelsSchema } from './agents.js';

// ---- addresses -------------------------------------------------------------------------------

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** Hex groups and colons (optionally an embedded IPv4 tail); never a leading `-`, never a zone. */
const IPV6 = /^(?=.*:)[0-9a-fA-F:]{2,39}(\.\d{1,3}){0,3}$/;

/** An IP address literal (no host name, no zone, no brackets): what `ping` is given as argv. */
export const IpLiteralSchema = z
  .string()
  .max(45)
  .refine((text) => IPV4.test(text) || (IPV6.test(text) && text.split('::').length <= 2), { message: 'an IPv4 or IPv6 address literal' });

// ---- network_ping (hub → agent command, issue #19) ---------------------------------------------

/** Echo requests one `network_ping` sends; default and ceiling. */
export const DEFAULT_NETWORK_PING_COUNT = 4;
export const MAX_NETWORK_PING_COUNT = 20;

/**
 * ICMP echo from the machine that runs it to one address, through the system's `ping` (argv, no
 * shell). The hub picks the address of the other machine (tailnet, same LAN, or public).
 */
export const NetworkPingCommandSchema = z
  .object({
    kind: z.literal('network_ping'),
    host: IpLiteralSchema.describe('The address to ping'),
    count: z.number().int().min(1).max(MAX_NETWORK_PING_COUNT).optional().describe(`Echo requests; default ${DEFAULT_NETWORK_PING_COUNT}`),
  })
  .strict()
  .describe('Round-trip time from this machine to an address (system ping)');
export type NetworkPingCommand = z.infer<typeof NetworkPingCommandSchema>;

const Ms = z.number().nonnegative().max(600_000);
export const NetworkPingDataSchema = z.object({
  kind: z.literal('network_ping'),
  host: IpLiteralSchema,
  sent: z.number().int().min(0).max(MAX_NETWORK_PING_COUNT),
  received: z.number().int().min(0).max(MAX_NETWORK_PING_COUNT),
  rttMinMs: Ms.nullable(),
  rttAvgMs: Ms.nullable(),
  rttMaxMs: Ms.nullable(),
});
export type NetworkPingData = z.infer<typeof NetworkPingDataSchema>;

// ---- tailscale:report (agent → hub) --------------------------------------------------------------

/** Most peers one report carries (a larger tailnet is cut, the report says so). */
export const MAX_TAILSCALE_PEERS = 1_000;
const Text = (max: number) => z.string().max(max);

/** One node as the agent's `tailscale status --json` describes it, reduced to what the hub uses. */
export const TailscaleNodeSchema = z
  .object({
    hostName: Text(255),
    dnsName: Text(255),
    os: Text(64),
    tailscaleIps: z.array(IpLiteralSchema).max(8),
    online: z.boolean(),
    relay: Text(32).describe('DERP region code of the home relay (`Relay`), empty when none'),
    curAddr: Text(64).describe('`CurAddr`: the direct ip:port in use; empty when traffic goes through a relay'),
    latencyMs: z.number().nonnegative().max(600_000).nullable().describe('When the status carries one; tailscale status usually does not'),
    lastHandshake: z.number().int().nonnegative().nullable().describe('ms since epoch; null when never'),
  })
  .strict();
export type TailscaleNode = z.infer<typeof TailscaleNodeSchema>;

/** What `tailscale status --json` says on one machine, sent every few minutes and when it changes. */
export const TailscaleReportSchema = z
  .object({
    backendState: Text(32).describe('Running, Stopped, NeedsLogin, ...'),
    tailnet: Text(255).nullable().describe('CurrentTailnet.Name (or the MagicDNS suffix); null when unknown'),
    self: TailscaleNodeSchema,
    peers: z.array(TailscaleNodeSchema).max(MAX_TAILSCALE_PEERS),
    peersCut: z.boolean().describe(`true when the tailnet had more than ${MAX_TAILSCALE_PEERS} peers`),
  })
  .strict();
export type TailscaleReport = z.infer<typeof TailscaleReportSchema>;

// ---- REST ---------------------------------------------------------------------------------------

export const NETWORK_KINDS = ['tailnet', 'lan', 'public'] as const;
export const NetworkKindSchema = z.enum(NETWORK_KINDS);
export type NetworkKind = z.infer<typeof NetworkKindSchema>;

export const HubRttSchema = z
  .object({
    lastMs: z.number().nullable().describe('The newest hub ↔ agent round trip (Engine.IO ping → pong)'),
    lastAt: z.number().int().nullable(),
    recentP50Ms: z.number().nullable().describe('Median over the last 15 minutes'),
    baselineP50Ms: z.number().nullable().describe('Median of the hourly figures of the 24 whole hours before those 15 minutes'),
  })
  .meta({ id: 'HubRtt' });
export type HubRtt = z.infer<typeof HubRttSchema>;

/**
 * Why a machine's link got worse, as a stable code with its figures (the dashboard words it in
 * the reader's language; `describeNetworkReason` gives the English the CLI prints).
 */
export const NetworkWorseReasonSchema = z
  .discriminatedUnion('code', [
    z.object({ code: z.literal('hub_rtt_up'), recentP50Ms: z.number(), baselineP50Ms: z.number() }).describe('Hub round trip over the last 15 min well above its 24 h median'),
    z.object({ code: z.literal('link_relayed'), peerName: z.string(), relay: z.string().nullable() }).describe('A tailnet link relayed now that was direct within 24 h'),
  ])
  .meta({ id: 'NetworkWorseReason' });
export type NetworkWorseReason = z.infer<typeof NetworkWorseReasonSchema>;

/** The English sentence for a reason (the CLI; the dashboard has its own words per language). */
export function describeNetworkReason(reason: NetworkWorseReason): string {
  switch (reason.code) {
    case 'hub_rtt_up':
      return `hub round trip ${reason.recentP50Ms.toFixed(1)} ms over the last 15 min, usually ${reason.baselineP50Ms.toFixed(1)} ms`;
    case 'link_relayed':
      return `link to ${reason.peerName} is relayed${reason.relay ? ` via DERP ${reason.relay}` : ''}; it was direct within 24 h`;
  }
}

export const NetworkMachineSchema = z
  .object({
    agentId: AgentIdSchema,
    name: AgentNameSchema,
    status: z.enum(['online', 'offline']),
    labels: LabelsSchema,
    hubRtt: HubRttSchema,
    tailnet: z.string().nullable().describe('The tailnet it is on, from its tailscale status'),
    tailscaleIps: z.array(z.string()),
    lanSubnets: z.array(z.string()).describe('Private subnets of its interfaces, CIDR'),
    publicAddress: z.string().nullable().describe('Its address as the hub sees it, when public'),
    directLinks: z.number().int(),
    relayedLinks: z.number().int(),
    worse: z.boolean().describe('Its link got worse: hub RTT well above its usual, or a peer link went from direct to relayed'),
    reasons: z.array(NetworkWorseReasonSchema).describe('Why it got worse: a code and its figures'),
  })
  .meta({ id: 'NetworkMachine' });
export type NetworkMachine = z.infer<typeof NetworkMachineSchema>;

export const NetworkStatusSchema = z.object({ machines: z.array(NetworkMachineSchema), generatedAt: z.number().int() }).meta({ id: 'NetworkStatus' });
export type NetworkStatus = z.infer<typeof NetworkStatusSchema>;

export const NetworkGroupSchema = z
  .object({
    kind: NetworkKindSchema,
    key: z.string().describe('The tailnet name, the subnet (CIDR) or the public address'),
    agentIds: z.array(AgentIdSchema),
  })
  .meta({ id: 'NetworkGroup' });
export type NetworkGroup = z.infer<typeof NetworkGroupSchema>;

export const NetworkLinkSchema = z
  .object({
    from: AgentIdSchema,
    to: AgentIdSchema.nullable().describe('The Farol machine at the other end; null for a tailnet node without an agent'),
    peerName: z.string(),
    peerIps: z.array(z.string()),
    online: z.boolean(),
    direct: z.boolean(),
    relay: z.string().nullable().describe('DERP region when relayed'),
    curAddr: z.string().nullable(),
    latencyMs: z.number().nullable(),
    lastDirectAt: z.number().int().nullable().describe('When this link was last seen direct'),
    worse: z.boolean().describe('Relayed now, direct within the last 24 hours'),
    updatedAt: z.number().int(),
  })
  .meta({ id: 'NetworkLink' });
export type NetworkLink = z.infer<typeof NetworkLinkSchema>;

export const NetworkTopologySchema = z
  .object({ groups: z.array(NetworkGroupSchema), links: z.array(NetworkLinkSchema), machines: z.array(NetworkMachineSchema), generatedAt: z.number().int() })
  .meta({ id: 'NetworkTopology' });
export type NetworkTopology = z.infer<typeof NetworkTopologySchema>;

export const NetworkPingRequestSchema = z
  .object({
    from: z.string().min(1).max(128).describe('Machine that pings (id or name)'),
    to: z.string().min(1).max(128).describe('Machine pinged (id or name)'),
    count: z.number().int().min(1).max(MAX_NETWORK_PING_COUNT).optional(),
  })
  .strict()
  .meta({ id: 'NetworkPingRequest' });
export type NetworkPingRequest = z.infer<typeof NetworkPingRequestSchema>;

export const NetworkPingResultSchema = z
  .object({
    from: z.object({ agentId: AgentIdSchema, name: AgentNameSchema }),
    to: z.object({ agentId: AgentIdSchema, name: AgentNameSchema }),
    address: z.string(),
    addressKind: NetworkKindSchema,
    jobId: z.string(),
    state: z.string().describe('The job target\'s state: succeeded, failed, timed_out, refused, ...'),
    sent: z.number().int(),
    received: z.number().int(),
    rttMinMs: z.number().nullable(),
    rttAvgMs: z.number().nullable(),
    rttMaxMs: z.number().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'NetworkPingResult' });
export type NetworkPingResult = z.infer<typeof NetworkPingResultSchema>;

export const NetworkRttQuerySchema = z.object({
  hours: z.coerce.number().int().min(1).max(24 * 90).optional().describe('How far back; default 24. Up to 48 h: per minute; beyond: per hour'),
});
export const NetworkRttPointSchema = z.object({ ts: z.number().int(), p50Ms: z.number().nullable(), minMs: z.number(), maxMs: z.number(), n: z.number().int() });
export const NetworkRttHistorySchema = z
  .object({ agentId: AgentIdSchema, resolution: z.enum(['1m', '1h']), points: z.array(NetworkRttPointSchema) })
  .meta({ id: 'NetworkRttHistory' });
export type NetworkRttHistory = z.infer<typeof NetworkRttHistorySchema>;
