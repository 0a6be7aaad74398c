import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DockerDeployCommand, SystemInfo } from '@farol/protocol';
import { openSampleBuffer } from '../buffer/sample-buffer.js';
import { createAgentChecks } from '../checks/checks.service.js';
import { defaultCollectorSource } from '../collectors/collector.js';
import { createProcessesCollector } from '../collectors/processes.collector.js';
import { createDefaultCollectors, createSampler, type SampleCollectors } from '../collectors/sampler.js';
import { collectSystemInfo } from '../collectors/system-info.collector.js';
import type { AgentConfig } from '../config.js';
import { createContainersCollector, DEFAULT_DOCKER_BUDGET_MS } from '../docker/containers.collector.js';
import { createDockerClient, parseDockerHost } from '../docker/docker-engine.client.js';
import { createUpdateChecker } from '../docker/update-check.js';
import { parseWatchList } from '../docker/watch-list.js';
import { createHeartbeatService } from '../heartbeat/heartbeat.service.js';
import { createLiveStream } from '../heartbeat/live-stream.service.js';
import { createBackoff } from '../hub-link/backoff.js';
import { createHubLink } from '../hub-link/hub-link.client.js';
import { createHubRotation, splitHubUrls } from '../hub-link/hub-rotation.js';
import { readCaFile } from '../hub-link/hub-tls.js';
import { importEd25519Key } from '../identity/connect-token.js';
import { createIdentityRepository } from '../identity/identity.repository.js';
import type { Logger } from '../logging/logger.js';
import { openCommandState } from '../remote/command-state.repository.js';
import { hubVerificationKey } from '../identity/hub-token.js';
import { createCommandExecutor } from '../remote/executor.js';
import { runDockerCommand } from '../remote/docker-dispatch.command.js';
import { runContainerManageCommand } from '../docker/deploy.command.js';
import { createRegistryLogins, fetchRegistryLogin } from '../docker/registry-auth.js';
import { runMetricsCommand } from '../remote/metrics.command.js';
import { runNetworkPingCommand } from '../remote/network-ping.command.js';
import { createTailscaleReporter } from '../collectors/tailscale.collector.js';
import { loadPolicy, policyFilePath } from '../remote/policy.schema.js';
import { runProcessesCommand } from '../remote/processes.command.js';
import { runScreenshotCommand } from '../remote/screenshot.command.js';
import { captureScreen, type CaptureOptions } from '../screenshot/capture.js';
import { describeRestart, reexecAgent, serviceManager } from '../remote/restart.command.js';
import { runShellCommand } from '../remote/shell.command.js';
import { withCommandSecrets } from '../secrets/command-secrets.js';
import { describeStop } from '../remote/stop.command.js';
import { createTerminalService } from '../terminal/terminal.service.js';
import { AgentExitError, EXIT_CODES } from '../runtime/exit-error.js';
import { acquireStateLock, type StateLock } from '../runtime/state-lock.js';
import { createCommandLogger, shutdownSignal, type CommandContext } from './context.js';
import { ensureIdentity, NOT_ENROLLED_MESSAGE, prepareStateDir } from './enroll.command.js';
import { createCaFetch } from '../hub-link/hub-tls.js';
import { runningBuild } from '../update/agent-build.js';
import { runUpdateCommand } from '../update/update.command.js';
import { beginUpdateTrial } from '../update/update-trial.js';

/** The first reconnect ceiling; doubles per failed attempt up to --reconnect-max. */
export const RECONNECT_BASE_DELAY_MS = 1_000;

/** Test seams of `runAgent`; production passes none. */
export interface RunAgentOverrides {
  logger?: Logger;
  /** Replace the collectors (called once for heartbeats and once for live mode). */
  createCollectors?: () => SampleCollectors;
  reconnectBaseDelayMs?: number;
  /** Replace the SystemInfo source (tests change it to see agent:info go out). */
  systemInfo?: () => Promise<SystemInfo>;
  systemInfoIntervalMs?: number;
  /** Replaces the standalone re-exec of a remote `restart` (tests run the agent in-process). */
  reexec?: () => void;
  /** Environment of remote shell commands; default process.env. */
  commandEnv?: NodeJS.ProcessEnv;
  /** Screenshot seams: where X sockets live (a headless machine), native client off. */
  screenshot?: Pick<CaptureOptions, 'socketDir' | 'native'>;
  /** Time budget of the containers collector per heartbeat (default 2 s, at most half the interval). */
  dockerBudgetMs?: number;
}

/**
 * `farol-agent run`: enroll if needed, then sample, buffer and report until SIGINT/SIGTERM
 * (exit 0) or a fatal refusal by the hub (exit 3). Returns the exit code.
 */
export async function runAgent(config: AgentConfig, context: CommandContext, overrides: RunAgentOverrides = {}): Promise<number> {
  const logger = overrides.logger ?? createCommandLogger(context, config.logLevel);
  const shutdown = shutdownSignal(context);
  let lock: StateLock | null = null;
  let stateWatch: NodeJS.Timeout | undefined;
  let reexecAfterUnlock = false;
  try {
    // The lock before enrolling (issue #12): of two fresh agents on one state dir only one enrolls.
    if (!existsSync(config.stateDir) && !(config.joinToken && config.hubUrl)) throw new AgentExitError(NOT_ENROLLED_MESSAGE, EXIT_CODES.usage);
    prepareStateDir(config.stateDir);
    lock = acquireStateLock(config.stateDir);
    const commandState = openCommandState({ dir: path.join(config.stateDir, 'commands'), clock: context.clock, logger });
    // An update left by the previous process (#15), settled before anything else can fail: the
    // new version on trial counts this start (and rolls back when it is one too many); the old
    // one, started again after a rollback, answers the update command.
    const trial = beginUpdateTrial({ stateDir: config.stateDir, commands: commandState, clock: context.clock, logger });
    if (trial.kind === 'rolled_back') {
      if (serviceManager(context.env)) return EXIT_CODES.restartRequested;
      reexecAfterUnlock = true;
      return EXIT_CODES.ok;
    }
    const identity = await ensureIdentity(config, context, logger, {
      requireNew: false,
      retry: { signal: shutdown.signal, random: context.random, capMs: config.reconnectMaxDelayMs, ...(overrides.reconnectBaseDelayMs ? { baseMs: overrides.reconnectBaseDelayMs } : {}) },
    });
    if (shutdown.signal.aborted) return EXIT_CODES.ok;
    const hubUrl = config.hubUrl ?? identity.hubUrl;
    if (config.hubUrl && config.hubUrl !== identity.hubUrl) {
      logger.info({ hubUrl, enrolledWith: identity.hubUrl }, 'using --hub instead of the URL this agent enrolled with');
    }
    const agentLogger = logger.child({ agentId: identity.agentId });
    const repository = createIdentityRepository(config.stateDir);
    const source = defaultCollectorSource();
    const systemInfo = overrides.systemInfo ?? (() => collectSystemInfo(source));

    const buffer = openSampleBuffer({
      dir: path.join(config.stateDir, 'buffer'),
      maxAgeMs: config.bufferMaxAgeMs,
      maxBytes: config.bufferMaxBytes,
      clock: context.clock,
      logger: agentLogger,
    });

    const collectorsFor = (): SampleCollectors =>
      overrides.createCollectors?.() ?? createDefaultCollectors({ clock: context.clock, logger: agentLogger, env: context.env });

    // Docker: the config was validated at load, so these parse. One client and one collector,
    // shared by heartbeats and docker_ps so CPU baselines carry over between them.
    const dockerClient = createDockerClient(parseDockerHost(config.dockerHost, context.env));
    const watch = parseWatchList(config.watchContainers);
    const containers = createContainersCollector({
      client: dockerClient,
      watch,
      clock: context.clock,
      logger: agentLogger.child({ collector: 'containers' }),
      // Half an interval at most: the heartbeat never waits on Docker past its own cadence.
      budgetMs: overrides.dockerBudgetMs ?? Math.min(DEFAULT_DOCKER_BUDGET_MS, Math.floor(config.heartbeatIntervalMs / 2)),
      updates: createUpdateChecker({
        client: dockerClient,
        clock: context.clock,
        logger: agentLogger.child({ component: 'image-updates' }),
        everyMs: config.containerUpdateCheckMs,
        // ADR 0023: logins of private registries, from the hub, in memory only. The link is
        // created below; the checker asks only once heartbeats run, after it exists.
        logins: createRegistryLogins({ link: () => link, clock: context.clock, logger: agentLogger.child({ component: 'image-updates' }), retryMs: config.containerUpdateCheckMs }),
      }),
    });

    const sampler = createSampler({ collectors: collectorsFor(), clock: context.clock, logger: agentLogger, containers });
    await sampler.prime();

    let trialTimer: NodeJS.Timeout | undefined;
    const updateLock = { held: false };
    const policyFile = policyFilePath(config.stateDir, config.policyFile);
    let lifecycleRequest: 'restart' | 'stop' | null = null;
    let stopping: Promise<void> | null = null;
    /** Stops running commands (handing over their results if it can), then the link. */
    const stopEverything = (): Promise<void> =>
      (stopping ??= Promise.all([executor.shutdown(), terminals.closeAll('agent_disconnected')])
        .then(() => undefined)
        .catch((error: unknown) => agentLogger.error({ err: error }, 'stopping remote commands failed'))
        .finally(() => link.stop()));

    let identityNow = identity;
    // The state dir deleted under a running agent (issue #12): what lives in memory is written
    // back once; the buffer and the command state recreate their own directories.
    let toldUnrecoverable = false;
    stateWatch = setInterval(() => {
      if (existsSync(repository.filePath)) return;
      try {
        repository.save(identityNow);
        lock = acquireStateLock(config.stateDir);
        toldUnrecoverable = false;
        agentLogger.error({ stateDir: config.stateDir }, 'the state directory was removed under the running agent: identity.json and the lock recreated from memory; samples buffered on disk are lost');
      } catch (error) {
        // Said once, not at every check: the agent goes on from memory either way.
        if (!toldUnrecoverable) agentLogger.error({ err: error, stateDir: config.stateDir }, 'the state directory was removed and cannot be recreated; the agent keeps running from memory');
        toldUnrecoverable = true;
      }
    }, Math.min(config.heartbeatIntervalMs, 10_000));
    stateWatch.unref();
    const link = createHubLink({
      // Several hubs (`--hub a,b`, issue #14): this agent's own random order spreads the fleet.
      hubs: createHubRotation(splitHubUrls(hubUrl), context.random),
      agentId: identity.agentId,
      privateKey: await importEd25519Key(identity.privateKeyJwk),
      hubPublicKey: await importEd25519Key(identity.hubPublicKey),
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      systemInfo,
      backoff: createBackoff({
        baseMs: overrides.reconnectBaseDelayMs ?? RECONNECT_BASE_DELAY_MS,
        capMs: config.reconnectMaxDelayMs,
        random: context.random,
      }),
      clock: context.clock,
      logger: agentLogger,
      ...(config.caFile ? { ca: readCaFile(config.caFile) } : {}),
      onLinked: (ack, sentInfo) => {
        if (trial.kind === 'trial') {
          clearTimeout(trialTimer);
          trial.confirm();
        }
        heartbeat.setSentSystemInfo(sentInfo);
        const labelsChanged = JSON.stringify(ack.labels) !== JSON.stringify(identityNow.labels);
        if (ack.name !== identityNow.name || labelsChanged) {
          identityNow = { ...identityNow, name: ack.name, labels: ack.labels };
          try {
            repository.save(identityNow);
            agentLogger.info({ name: ack.name, labels: ack.labels }, 'name or labels changed on the hub; identity.json updated');
          } catch (error) {
            agentLogger.error({ err: error, file: repository.filePath }, 'cannot update identity.json');
          }
        }
        // A sample at once, not one interval later: a machine that just connected has metrics
        // on the hub within a second (#21). The tick drains the buffer after it, backfill first.
        void heartbeat.tick();
        executor.flushOutbox().catch((error: unknown) => agentLogger.error({ err: error }, 'sending stored command results failed'));
        checks.linked();
        tailscale.linked();
      },
      onUnlinked: () => {
        live.stop();
        // A terminal never outlives the connection it was opened on.
        terminals.closeAll('agent_disconnected').catch((error: unknown) => agentLogger.error({ err: error }, 'closing terminals failed'));
      },
      onLiveRequest: (intervalMs) => live.request(intervalMs),
      onCommand: (run) => {
        executor.run(run).catch((error: unknown) => agentLogger.error({ err: error }, 'handling a remote command failed'));
      },
      onCommandCancel: ({ commandId }) => executor.cancel(commandId),
      onTerminalOpen: (open) => {
        terminals.open(open).catch((error: unknown) => agentLogger.error({ err: error }, 'opening a terminal failed'));
      },
      onTerminalInput: (input) => terminals.input(input),
      onTerminalResize: (resize) => terminals.resize(resize),
      onTerminalClose: ({ sessionId }) => {
        terminals.close(sessionId).catch((error: unknown) => agentLogger.error({ err: error, sessionId }, 'closing a terminal failed'));
      },
      onChecksAssign: ({ checks: assigned }) => checks.assign(assigned),
      onChecksRun: ({ checkIds }) => checks.runNow(checkIds),
    });
    // Service checks (issue #19): plugins only when policy.json allows checks.command.
    const checks = createAgentChecks({ link, policyFile, clock: context.clock, logger: agentLogger.child({ component: 'checks' }), env: overrides.commandEnv ?? process.env });
    // The network (issue #19): this machine's tailnet view, when `tailscale` is on PATH.
    const tailscale = createTailscaleReporter({ link, logger: agentLogger.child({ component: 'tailscale' }), env: overrides.commandEnv ?? process.env, now: () => context.clock.now() });
    // Commands and terminal openings are both checked against the hub key pinned at enrollment.
    const hubKey = hubVerificationKey(identity.hubPublicKey);
    // A pull, deploy or update that names a registry secret (ADR 0023) fetches it as it runs.
    const registryLogin = (commandId: string, name: string) => fetchRegistryLogin(link, commandId, name);
    const executor = createCommandExecutor({
      agentId: identity.agentId,
      hubKey,
      link,
      state: commandState,
      policy: () => loadPolicy(policyFile),
      handlers: {
        // Secrets asked for by the command are fetched right before it runs, held in memory only
        // and redacted from its output (apps/agent/src/secrets).
        shell: withCommandSecrets(link, (command, commandContext) => runShellCommand(command, commandContext, overrides.commandEnv ?? process.env)),
        metrics: (commandContext) => runMetricsCommand(() => createSampler({ collectors: collectorsFor(), clock: context.clock, logger: agentLogger }), commandContext),
        processes: (command, commandContext) =>
          runProcessesCommand(command, (top) => createProcessesCollector(source, { clock: context.clock, logger: agentLogger, top }), commandContext),
        docker: (command, commandContext) =>
          runDockerCommand(
            command,
            {
              client: () => dockerClient,
              watch,
              containers,
              registryLogin,
              deploy: withCommandSecrets(link, (deploy: DockerDeployCommand, deployContext) => runContainerManageCommand(deploy, { client: () => dockerClient, watch, registryLogin }, deployContext)),
            },
            commandContext,
          ),
        update: (command, commandContext) =>
          runUpdateCommand(command, { build: runningBuild(), hubUrl: link.hubUrl(), fetch: config.caFile ? createCaFetch(readCaFile(config.caFile)) : fetch, stateDir: config.stateDir, lock: updateLock }, commandContext),
        networkPing: (command, commandContext) => runNetworkPingCommand(command, commandContext),
        screenshot: (command, commandContext) =>
          runScreenshotCommand(command, commandContext, overrides.commandEnv ?? process.env, (options) => captureScreen({ ...options, ...overrides.screenshot })),
      },
      lifecycle: {
        describe: (kind) => (kind === 'restart' ? describeRestart(context.env) : describeStop(context.env)),
        request: (kind) => {
          agentLogger.info({ kind }, kind === 'restart' ? 'restarting on the hub\'s request' : 'stopping on the hub\'s request');
          lifecycleRequest = kind;
          void stopEverything();
        },
      },
      clock: context.clock,
      logger: agentLogger,
    });
    const terminals = createTerminalService({
      agentId: identity.agentId,
      hubKey,
      link,
      seen: commandState,
      policy: () => loadPolicy(policyFile),
      maxSessions: config.terminalMaxSessions,
      idleTimeoutMs: config.terminalIdleTimeoutMs,
      env: overrides.commandEnv ?? process.env,
      clock: context.clock,
      logger: agentLogger.child({ component: 'terminal' }),
    });
    const live = createLiveStream({
      // Its own collectors: live samples must not reset the rate baselines of the heartbeats.
      createSampler: () => createSampler({ collectors: collectorsFor(), clock: context.clock, logger: agentLogger.child({ live: true }) }),
      link,
      logger: agentLogger,
    });
    const heartbeat = createHeartbeatService({
      sampler,
      buffer,
      link,
      logger: agentLogger,
      intervalMs: config.heartbeatIntervalMs,
      systemInfo,
      ...(overrides.systemInfoIntervalMs ? { systemInfoIntervalMs: overrides.systemInfoIntervalMs } : {}),
    });

    const onShutdown = (): void => {
      agentLogger.info({ signal: shutdown.received() }, 'shutting down');
      void stopEverything();
    };
    shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    if (shutdown.signal.aborted) onShutdown();

    if (trial.kind === 'trial') {
      trialTimer = setTimeout(() => {
        trial.rollBack('the new version did not connect to the hub within its trial (60 s after its first start)');
        lifecycleRequest = 'restart';
        void stopEverything();
      }, Math.max(0, trial.deadline - context.clock.now()));
      trialTimer.unref();
    }
    heartbeat.start();
    agentLogger.info(
      { hubUrl, name: identity.name, intervalMs: config.heartbeatIntervalMs, pending: buffer.size().samples },
      'agent started',
    );
    const outcome = await link.run();
    clearTimeout(trialTimer);
    shutdown.signal.removeEventListener('abort', onShutdown);
    await stopEverything();
    await checks.stop();
    tailscale.stop();
    live.stop();
    await heartbeat.stop();
    buffer.close();
    if (outcome.kind === 'refused') return EXIT_CODES.refusedByHub;
    agentLogger.info('stopped');
    if (lifecycleRequest === 'stop') return EXIT_CODES.stopRequested;
    if (lifecycleRequest === 'restart') {
      if (serviceManager(context.env)) return EXIT_CODES.restartRequested;
      reexecAfterUnlock = true;
    }
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof AgentExitError) throw error;
    throw new AgentExitError(`agent failed: ${(error as Error).message}`, EXIT_CODES.failure, { cause: error });
  } finally {
    clearInterval(stateWatch);
    lock?.release();
    shutdown.dispose();
    // After the lock is released, so the new process can take it.
    if (reexecAfterUnlock) (overrides.reexec ?? reexecAgent)();
  }
}
