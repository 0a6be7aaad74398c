import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChannelsClient, createFarolClient } from '@farol/client';
import { Command } from 'commander';
import { loadBundleExport, type HubBundle, type RunningHub } from '../bundles.js';
import { isLoopbackUrl } from '../connection.js';
import type { CliContext } from '../context.js';
import { superviseAgent, type AgentSupervisor } from '../dev/agent-supervisor.js';
import { formatLogLine, prettyLogStream } from '../output/log-lines.js';
import { renderFields } from '../output/table.js';
import { hubOverridesFrom, withHubFlags, type HubFlags } from './hub-run.js';

/**
 * `farol dev` (what `npm start` runs): a hub in this process with its data in ./data (or
 * FAROL_DATA_DIR, --data), short log lines instead of JSON, plus this
 * machine's agent as a child process, so a fresh checkout shows one live machine at once.
 */
export function createDevCommand(context: CliContext): Command {
  const command = withHubFlags(new Command('dev').description('run a hub and an agent for this machine (what npm start runs); FAROL_* settings as for farol hub'))
    .option('--json-logs', 'log JSON lines as farol hub does, instead of short lines for a terminal');
  command.action(async (flags: HubFlags & { jsonLogs?: boolean }) => {
    // The same settings as `farol hub`: flags first, then FAROL_DATA_DIR, then ./data (#21).
    const dataDir = path.resolve(context.cwd, flags.data ?? (context.env.FAROL_DATA_DIR || 'data'));
    const startHub = await loadBundleExport<HubBundle, 'startHub'>(context, context.bundles.hub, 'hub', 'startHub');
    const logs = flags.jsonLogs ? undefined : prettyLogStream(context.stdout);
    const hub = await startHub({ ...hubOverridesFrom(flags, context.cwd), dataDir }, context.env, logs ? { logDestination: logs } : {});
    await runUntilSignal(hub, dataDir, context, logs ? formatLogLine : undefined);
    logs?.end();
    context.ensureExit(0);
  });
  return command;
}

async function runUntilSignal(hub: RunningHub, dataDir: string, context: CliContext, formatLine: ((line: string) => string) | undefined): Promise<void> {
  let supervisor: AgentSupervisor | null = null;
  let signalCount = 0;
  let onFirstSignal: (signal: string) => void = () => undefined;
  const firstSignal = new Promise<string>((resolve) => (onFirstSignal = resolve));
  const unsubscribe = context.onShutdownSignal((signal) => {
    signalCount += 1;
    if (signalCount === 1) onFirstSignal(signal);
    else {
      context.stderr('farol: stopping now\n');
      supervisor?.kill();
    }
  });
  try {
    const hubUrl = localUrlOf(hub.url);
    const stateDir = path.join(dataDir, 'agent');
    const identityFile = path.join(stateDir, 'identity.json');
    const agentBundle = fileURLToPath(context.bundles.agent);
    const hasAgentBundle = existsSync(agentBundle);

    const agentLine = !hasAgentBundle
      ? `not built (${agentBundle} is missing); run npm run build`
      : existsSync(identityFile)
        ? `starting (already enrolled; state in ${path.relative(context.cwd, stateDir) || stateDir})`
        : `enrolling with a one-time join token (state in ${path.relative(context.cwd, stateDir) || stateDir})`;
    const client = createFarolClient({ baseUrl: hubUrl, token: hub.adminToken, fetch: context.fetch });
    const hasChannels = await countChannels(hubUrl, hub.adminToken, context).then((count) => count !== 0);
    context.stdout(renderBanner(hub, hubUrl, agentLine, context.commandName, hasChannels));

    if (hasAgentBundle) {
      supervisor = superviseAgent({
        execPath: context.execPath,
        bundlePath: agentBundle,
        hubUrl,
        stateDir,
        env: context.env,
        // Checked before every start: a crash during enrollment leaves no identity, so the next
        // attempt needs a fresh single-use token.
        joinToken: async () =>
          existsSync(identityFile)
            ? undefined
            : (await client.createJoinToken({ ttl: '1h', uses: 1, note: 'local agent of farol dev' })).token,
        stdout: context.stdout,
        stderr: context.stderr,
        ...(formatLine ? { formatLine } : {}),
        now: context.now,
      });
    }

    const signal = await firstSignal;
    context.stdout(`\nfarol: ${signal} received, stopping\n`);
  } finally {
    await supervisor?.stop();
    await hub.close();
    unsubscribe();
  }
  context.stdout('farol: stopped\n');
}

/** How many notification channels the hub has; null when it could not say (the banner then stays quiet). */
async function countChannels(hubUrl: string, token: string, context: CliContext): Promise<number | null> {
  try {
    return (await createChannelsClient({ baseUrl: hubUrl, token, fetch: context.fetch }).listChannels()).channels.length;
  } catch (error) {
    // Only a hint in the banner: the hub's own log says it too; nothing to stop for.
    context.stderr(`farol: could not list the notification channels (${(error as Error).message})\n`);
    return null;
  }
}

function renderBanner(hub: RunningHub, hubUrl: string, agentLine: string, commandName: string, hasChannels: boolean): string {
  const tokenNote =
    hub.adminTokenPath === null ? 'from FAROL_ADMIN_TOKEN' : `${hub.adminTokenGenerated ? 'new, saved in' : 'read from'} ${hub.adminTokenPath}`;
  const lines = [
    '',
    'Farol is running.',
    '',
    renderFields(
      [
        ['Dashboard and API', hubUrl],
        ['API docs', `${hubUrl}/api/docs`],
        ['Admin token', hub.adminToken],
        ['', `(${tokenNote})`],
        ...(hub.adminPassword ? ([['Admin password', `${hub.adminPassword}  (user admin; shown only now)`]] as Array<[string, string]>) : []),
        ['Local agent', agentLine],
      ],
      2,
    ).trimEnd(),
    '',
    'Use the CLI from another terminal:',
    `  ${commandName} login --hub ${hubUrl} --token ${hub.adminToken}`,
    `  ${commandName} agents ls`,
    '',
    'Add another machine (prints the one-line install commands for Linux, macOS and Windows):',
    `  ${commandName} join-tokens create --uses 5`,
  ];
  if (isLoopbackUrl(hubUrl)) {
    lines.push(`  Other machines cannot reach ${new URL(hubUrl).hostname}: restart with --bind 0.0.0.0 to accept them.`);
  }
  if (!hasChannels) {
    lines.push(
      '',
      'Alerts notify no one until you add a notification channel (Telegram, Slack, Discord, e-mail, ntfy, ...):',
      `  ${commandName} channels add NAME --type telegram --settings-file FILE   (or Alerts → Channels in the dashboard)`,
    );
  }
  lines.push('', 'Press Ctrl-C to stop.', '', '');
  return lines.join('\n');
}

/** A URL this machine can connect to: a hub bound to every interface is reached on loopback. */
export function localUrlOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.hostname === '0.0.0.0') parsed.hostname = '127.0.0.1';
  if (parsed.hostname === '[::]') parsed.hostname = '[::1]';
  return parsed.href.replace(/\/+$/, '');
}
