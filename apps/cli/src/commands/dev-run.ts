import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFarolClient } from '@farol/client';
import { Command } from 'commander';
import { loadBundleExport, type HubBundle, type RunningHub } from '../bundles.js';
import { isLoopbackUrl } from '../connection.js';
import type { CliContext } from '../context.js';
import { superviseAgent, type AgentSupervisor } from '../dev/agent-supervisor.js';
import { renderFields } from '../output/table.js';
import { hubOverridesFrom, withHubFlags, type HubFlags } from './hub-run.js';

/**
 * `farol dev` (what `npm start` runs): a hub in this process with its data in ./data, plus this
 * machine's agent as a child process, so a fresh checkout shows one live machine at once.
 */
export function createDevCommand(context: CliContext): Command {
  const command = withHubFlags(new Command('dev').description('run a hub and an agent for this machine (what npm start runs)'));
  command.action(async (flags: HubFlags) => {
    const dataDir = path.resolve(context.cwd, flags.data ?? 'data');
    const startHub = await loadBundleExport<HubBundle, 'startHub'>(context, context.bundles.hub, 'hub', 'startHub');
    const hub = await startHub({ ...hubOverridesFrom(flags, context.cwd), dataDir });
    await runUntilSignal(hub, dataDir, context);
    context.ensureExit(0);
  });
  return command;
}

async function runUntilSignal(hub: RunningHub, dataDir: string, context: CliContext): Promise<void> {
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
    context.stdout(renderBanner(hub, hubUrl, agentLine, context.commandName));

    if (hasAgentBundle) {
      const client = createFarolClient({ baseUrl: hubUrl, token: hub.adminToken, fetch: context.fetch });
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

function renderBanner(hub: RunningHub, hubUrl: string, agentLine: string, commandName: string): string {
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
    `  ${commandName} token create --uses 5`,
  ];
  if (isLoopbackUrl(hubUrl)) {
    lines.push(`  Other machines cannot reach ${new URL(hubUrl).hostname}: restart with --bind 0.0.0.0 to accept them.`);
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
