import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CryptoKey } from 'jose';
import { PROTOCOL_VERSION, type CommandResult, type CommandRun, type Ed25519PublicJwk } from '@farol/protocol';
import { createBackoff } from '../hub-link/backoff.js';
import { createHubLink, describeRefusal, type HubLink } from '../hub-link/hub-link.client.js';
import { createHubRotation, splitHubUrls } from '../hub-link/hub-rotation.js';
import { generateAgentKeyPair, importEd25519Key } from '../identity/connect-token.js';
import { postEnrollment, type FetchFunction } from '../identity/enroll.client.js';
import type { Logger } from '../logging/logger.js';
import { hubVerificationKey } from '../identity/hub-token.js';
import { verifyCommandRun, type VerifiedBatches } from '../remote/command-token.js';
import { createGate, sleep, type Clock, type RandomSource } from '../runtime/clock.js';
import { AgentExitError, EXIT_CODES } from '../runtime/exit-error.js';
import { createLatencyRecorder, type LatencySummary } from './latency-recorder.js';
import { createSimIdentitiesRepository, type SimIdentitiesFile, type SimIdentity } from './sim-identities.repository.js';
import { createSyntheticMachine, syntheticSample, syntheticSystemInfo } from './synthetic-sample.js';

/** Enrollment requests in flight at once. */
export const ENROLL_CONCURRENCY = 50;
const REPORT_ACK_TIMEOUT_MS = 15_000;
/** Like the real agent's executor: a result the hub could not take (`unavailable`) goes again, at most this many times. */
const RESULT_ATTEMPTS = 5;
const RESULT_RETRY_MS = 5_000;
/** How long in-flight heartbeats may take to be acknowledged once the run ends. */
const FINAL_ACK_GRACE_MS = 3_000;

/** A simulated agent linked to a hub (after a verified hello) or lost its link. */
export interface SimLinkEvent {
  at: number;
  agent: number;
  event: 'linked' | 'unlinked';
  hubUrl: string;
}

/** Results each simulated agent keeps for commands sent again (a bounded memory, like the real agent's state). */
const KEPT_RESULTS = 64;

/** Everything a simulation run needs; see `farol-agent simulate --help`. */
export interface SimulationOptions {
  /** One hub URL, or several separated by commas: each simulated agent walks them in its own order. */
  hubUrl: string;
  joinToken?: string;
  agents: number;
  heartbeatIntervalMs: number;
  stateDir: string;
  durationMs?: number;
  connectConcurrency: number;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  signal: AbortSignal;
  fetch?: FetchFunction;
  reconnectBaseDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** Every link and unlink (`--link-log`, for the reconnect-storm benchmark). */
  onLink?: (event: SimLinkEvent) => void;
}

/** What a run measured; printed at the end and written by --report-json. */
export interface SimulationSummary {
  hubUrl: string;
  agents: number;
  intervalMs: number;
  durationMs: number;
  enrolled: number;
  /** Linked when the run ended. */
  connected: number;
  /** Linked at least once. */
  everConnected: number;
  /** Stopped by a fatal refusal (deleted, key revoked, protocol). */
  refused: number;
  /** Time from start until every agent was linked once, ms; null if some never were. */
  allConnectedAfterMs: number | null;
  heartbeats: {
    sent: number;
    acked: number;
    /** Error ack, timeout, or connection lost before the ack. */
    failed: number;
    /** Ticks while the agent was not linked (nothing sent). */
    skipped: number;
  };
  latencyMs: LatencySummary;
  /** Remote commands answered (echo runs synthetically; anything else is refused). */
  commands: { received: number; refused: number; answered: number; duplicates: number };
}

/**
 * A simulated agent's answer to a command: `echo ARGS` prints its arguments, without starting a
 * process; anything else is refused. The signature is checked like the real agent does.
 */
export function simulatedResult(commandId: string, command: { kind: string; argv?: string[] }, now: number): CommandResult {
  const isEcho = command.kind === 'shell' && command.argv?.[0] === 'echo';
  return {
    commandId,
    state: isEcho ? 'succeeded' : 'refused',
    exitCode: isEcho ? 0 : null,
    signal: null,
    stdout: isEcho ? `${command.argv!.slice(1).join(' ')}\n` : '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    data: null,
    startedAt: isEcho ? now : null,
    endedAt: now,
    error: isEcho ? null : 'the simulator runs only echo',
  };
}

function newRunId(): string {
  return randomBytes(6).toString('hex').slice(0, 8);
}

/** Enrolls the agents the cache lacks, `ENROLL_CONCURRENCY` at a time, saving progress as it goes. */
async function ensureIdentities(options: SimulationOptions): Promise<SimIdentitiesFile> {
  const repository = createSimIdentitiesRepository(options.stateDir);
  const cached = repository.load(options.hubUrl);
  if (cached && cached.identities.length >= options.agents) return cached;
  if (!options.joinToken) {
    throw new AgentExitError(
      `${cached?.identities.length ?? 0} simulated agents are enrolled with ${options.hubUrl}, ${options.agents} needed: pass --token TOKEN allowing ${options.agents - (cached?.identities.length ?? 0)} uses (farol join-tokens create --uses N)`,
      EXIT_CODES.usage,
    );
  }
  const joinToken = options.joinToken;
  const runId = cached?.runId ?? newRunId();
  const existing = cached?.identities ?? [];
  const missing = options.agents - existing.length;
  options.logger.warn({ enrolling: missing, cached: existing.length }, 'enrolling simulated agents');
  const gate = createGate(ENROLL_CONCURRENCY);
  // Several hubs share one database and key: enrollments are spread over them.
  const enrollUrls = splitHubUrls(options.hubUrl);
  const enrolled: SimIdentity[] = [];
  let hubPublicKey: Ed25519PublicJwk | null = cached?.hubPublicKey ?? null;
  let failure: unknown = null;
  const start = existing.length;
  await Promise.all(
    Array.from({ length: missing }, (_, offset) =>
      gate.run(async () => {
        if (failure !== null || options.signal.aborted) return;
        const index = start + offset;
        const machine = createSyntheticMachine(index, options.random, options.clock.now());
        const keys = await generateAgentKeyPair();
        try {
          const response = await postEnrollment(
            enrollUrls[index % enrollUrls.length]!,
            {
              token: joinToken,
              publicKey: keys.publicKeyJwk,
              system: syntheticSystemInfo(machine),
              protocolVersion: PROTOCOL_VERSION,
              name: `sim-${runId}-${index}`,
            },
            options.fetch ? { fetch: options.fetch } : {},
          );
          hubPublicKey = response.hubPublicKey;
          enrolled.push({ agentId: response.agentId, name: response.name, ...keys });
        } catch (error) {
          failure ??= error;
        }
      }),
    ),
  );
  if (hubPublicKey !== null) {
    // Saved even after a failure: the agents enrolled so far exist on the hub and are reused.
    const saved: SimIdentitiesFile = { hubUrl: options.hubUrl, runId, hubPublicKey, identities: [...existing, ...enrolled] };
    repository.save(saved);
    if (failure === null && !options.signal.aborted) return saved;
  }
  if (failure instanceof AgentExitError) {
    throw new AgentExitError(`${failure.message} (after ${enrolled.length} of ${missing} enrollments; those are cached)`, failure.exitCode);
  }
  if (failure !== null) throw failure;
  throw new AgentExitError('interrupted while enrolling simulated agents (the enrolled ones are cached)', EXIT_CODES.failure);
}

/** Open file descriptors allowed (Linux); every simulated agent holds one socket. */
function openFileLimit(): number | null {
  if (process.platform !== 'linux') return null;
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Number(match[1]) : null;
  } catch (error) {
    // Only used for an early warning; without it, EMFILE errors say the same later.
    if ((error as NodeJS.ErrnoException).code) return null;
    throw error;
  }
}

/**
 * Runs N simulated agents speaking the real protocol (own keys, connect JWTs, hello with proof
 * verification) against a hub, sending synthetic heartbeats with phases spread evenly over the
 * interval, and measures emit-to-ack latency. Resolves when the duration ends or `signal` aborts.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationSummary> {
  const { logger, clock } = options;
  const limit = openFileLimit();
  if (limit !== null && limit < options.agents + 256) {
    logger.warn({ limit, agents: options.agents }, `open file limit ${limit} is too low for ${options.agents} sockets: raise it (ulimit -n ${options.agents + 1024})`);
  }
  const cache = await ensureIdentities(options);
  const identities = cache.identities.slice(0, options.agents);
  const hubPublicKey: CryptoKey = await importEd25519Key(cache.hubPublicKey);
  const commandKey = hubVerificationKey(cache.hubPublicKey);
  const commandCounts = { received: 0, refused: 0, answered: 0, duplicates: 0 };
  // A job's batch signature is the same bytes for every simulated machine; each real machine
  // checks it once on its own CPU, so this process checks each one once. Every agent still
  // checks its own leaf and inclusion proof.
  const verifiedBatches: VerifiedBatches = new Map();

  const latency = createLatencyRecorder();
  const counts = { sent: 0, acked: 0, failed: 0, skipped: 0 };
  const gate = createGate(options.connectConcurrency);
  const everLinked = new Set<number>();
  let refused = 0;
  let allConnectedAt: number | null = null;
  const startedAt = clock.now();
  let ticking = true;
  let inFlight = 0;

  const agents = await Promise.all(
    identities.map(async (identity, index) => {
      const machine = createSyntheticMachine(index, options.random, startedAt);
      const system = syntheticSystemInfo(machine);
      const seenCommands = new Set<string>();
      /** Results answered, kept like the real agent keeps them: a command sent again gets its result again (its first answer may have been lost with a hub). */
      const results = new Map<string, CommandResult>();
      const onCommand = (run: CommandRun): void => {
        commandCounts.received++;
        const check = verifyCommandRun(run, commandKey, identity.agentId, verifiedBatches);
        if (!check.ok) {
          commandCounts.refused++;
          if (check.claimedId) void link.request('command:ack', { commandId: check.claimedId, status: 'refused', reason: check.reason, at: clock.now() }, REPORT_ACK_TIMEOUT_MS).catch((error: unknown) => logger.debug({ agent: identity.name, err: error }, 'refusal not delivered'));
          return;
        }
        const { commandId, command } = check.claims;
        const duplicate = seenCommands.has(commandId);
        seenCommands.add(commandId);
        if (duplicate) commandCounts.duplicates++;
        void (async () => {
          if (duplicate) {
            await link.request('command:ack', { commandId, status: 'duplicate', at: clock.now() }, REPORT_ACK_TIMEOUT_MS);
            const kept = results.get(commandId);
            if (kept) await link.request('command:result', kept, REPORT_ACK_TIMEOUT_MS);
            return;
          }
          // Like the real agent's executor: a command that finishes within ACCEPTED_ACK_DELAY_MS
          // (a simulated echo finishes at once) is answered by its result alone, with no
          // separate `accepted` acknowledgement.
          const result = simulatedResult(commandId, command as { kind: string; argv?: string[] }, clock.now());
          results.set(commandId, result);
          if (results.size > KEPT_RESULTS) results.delete(results.keys().next().value!);
          for (let attempt = 1; ; attempt++) {
            const answer = await link.request('command:result', result, REPORT_ACK_TIMEOUT_MS);
            if (answer.ok) {
              commandCounts.answered++;
              return;
            }
            if (answer.error.code !== 'unavailable' || attempt >= RESULT_ATTEMPTS || !link.isLinked()) {
              logger.warn({ agent: identity.name, code: answer.error.code, attempt }, 'result refused');
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, RESULT_RETRY_MS));
          }
        })().catch((error: unknown) => logger.debug({ agent: identity.name, err: error }, 'command answer not delivered'));
      };
      const link: HubLink = createHubLink({
        hubs: createHubRotation(splitHubUrls(options.hubUrl), options.random),
        agentId: identity.agentId,
        privateKey: await importEd25519Key(identity.privateKeyJwk),
        hubPublicKey,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        systemInfo: async () => system,
        backoff: createBackoff({
          baseMs: options.reconnectBaseDelayMs ?? 1_000,
          capMs: options.reconnectMaxDelayMs ?? 60_000,
          random: options.random,
        }),
        clock,
        logger: logger.child({ agent: identity.name }),
        connectGate: gate,
        onCommand,
        onLinked: () => {
          options.onLink?.({ at: clock.now(), agent: index, event: 'linked', hubUrl: link.hubUrl() });
          everLinked.add(index);
          if (everLinked.size === identities.length && allConnectedAt === null) {
            allConnectedAt = clock.now();
            logger.warn({ afterMs: allConnectedAt - startedAt }, 'all simulated agents connected');
          }
        },
        onUnlinked: () => options.onLink?.({ at: clock.now(), agent: index, event: 'unlinked', hubUrl: link.hubUrl() }),
      });
      return { identity, machine, link };
    }),
  );

  async function beat(agent: (typeof agents)[number]): Promise<void> {
    if (!ticking) return;
    if (!agent.link.isLinked()) {
      counts.skipped++;
      return;
    }
    const sample = syntheticSample(agent.machine, clock.now(), options.random);
    counts.sent++;
    inFlight++;
    const sentAt = performance.now();
    try {
      const ack = await agent.link.request('metrics:report', { samples: [sample] }, REPORT_ACK_TIMEOUT_MS);
      if (ack.ok) {
        counts.acked++;
        latency.record(performance.now() - sentAt);
      } else {
        counts.failed++;
        logger.warn({ agent: agent.identity.name, code: ack.error.code, reason: ack.error.message }, 'heartbeat refused');
      }
    } catch (error) {
      counts.failed++;
      logger.debug({ agent: agent.identity.name, err: error }, 'heartbeat not acknowledged');
    } finally {
      inFlight--;
    }
  }

  // Phases spread uniformly over the interval, as real agents started at random times are.
  const timers: NodeJS.Timeout[] = [];
  agents.forEach((agent, index) => {
    const phase = Math.floor((index / agents.length) * options.heartbeatIntervalMs);
    timers.push(
      setTimeout(() => {
        void beat(agent);
        timers.push(setInterval(() => void beat(agent), options.heartbeatIntervalMs));
      }, phase),
    );
  });

  const runs = agents.map((agent) =>
    agent.link.run().then((outcome) => {
      if (outcome.kind === 'refused') {
        refused++;
        if (refused === 1) logger.error({ agent: agent.identity.name }, describeRefusal(outcome));
      }
    }),
  );

  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) stop.abort();
  if (options.durationMs !== undefined) await sleep(options.durationMs, stop.signal);
  else await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  options.signal.removeEventListener('abort', onAbort);

  ticking = false;
  for (const timer of timers) clearTimeout(timer);
  const durationMs = clock.now() - startedAt;
  const graceEnd = performance.now() + FINAL_ACK_GRACE_MS;
  while (inFlight > 0 && performance.now() < graceEnd) await sleep(20);
  const connected = agents.filter((agent) => agent.link.isLinked()).length;
  for (const agent of agents) agent.link.stop();
  await Promise.all(runs);

  return {
    hubUrl: options.hubUrl,
    agents: agents.length,
    intervalMs: options.heartbeatIntervalMs,
    durationMs,
    enrolled: identities.length,
    connected,
    everConnected: everLinked.size,
    refused,
    allConnectedAfterMs: allConnectedAt === null ? null : allConnectedAt - startedAt,
    heartbeats: counts,
    latencyMs: latency.summary(),
    commands: commandCounts,
  };
}

/** The summary as the few lines printed at the end of a run. */
export function formatSummary(summary: SimulationSummary): string {
  const l = summary.latencyMs;
  const ms = (value: number | null): string => (value === null ? 'n/a' : `${value} ms`);
  return [
    `simulated ${summary.agents} agents against ${summary.hubUrl} for ${(summary.durationMs / 1000).toFixed(1)} s (interval ${summary.intervalMs / 1000} s)`,
    `  agents connected: ${summary.connected} at the end, ${summary.everConnected} at least once${summary.allConnectedAfterMs === null ? '' : `, all within ${(summary.allConnectedAfterMs / 1000).toFixed(1)} s`}${summary.refused > 0 ? `, ${summary.refused} refused` : ''}`,
    `  heartbeats: ${summary.heartbeats.sent} sent, ${summary.heartbeats.acked} acked, ${summary.heartbeats.failed} failed, ${summary.heartbeats.skipped} skipped while disconnected`,
    `  latency (emit to ack): p50 ${ms(l.p50)}, p90 ${ms(l.p90)}, p99 ${ms(l.p99)}, max ${ms(l.max)}`,
    ...(summary.commands.received > 0
      ? [`  commands: ${summary.commands.received} received, ${summary.commands.answered} answered, ${summary.commands.refused} refused, ${summary.commands.duplicates} duplicates`]
      : []),
    '',
  ].join('\n');
}
