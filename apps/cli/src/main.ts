import { FAROL_VERSION } from '@farol/protocol';
import { Command } from 'commander';
import { reportError } from './cli-error.js';
import { createAgentCommands } from './commands/agent-run.js';
import { createAlertsAckCommand } from './commands/alerts-ack.js';
import { createChannelsAddCommand } from './commands/channels-add.js';
import { createChannelsListCommand } from './commands/channels-list.js';
import { createChannelsRemoveCommand } from './commands/channels-remove.js';
import { createChannelsTestCommand } from './commands/channels-test.js';
import { createChannelsTelegramCommand } from './commands/channels-telegram.js';
import { createAlertsListCommand } from './commands/alerts-list.js';
import { createChecksListCommand, createChecksShowCommand } from './commands/checks-list.js';
import { createChecksAddCommand, createChecksRemoveCommand, createChecksRunCommand } from './commands/checks-manage.js';
import { createNetworkPingCommand } from './commands/network-ping.js';
import { createNetworkStatusCommand } from './commands/network-status.js';
import { createNetworkTopologyCommand } from './commands/network-topology.js';
import { createStatusPagesCommand } from './commands/status-pages.js';
import { createRulesListCommand } from './commands/alerts-rules.js';
import { createSilenceAddCommand } from './commands/silence-add.js';
import { createSilenceListCommand } from './commands/silence-list.js';
import { createSilenceRemoveCommand } from './commands/silence-remove.js';
import { createAgentsLabelCommand } from './commands/agents-label.js';
import { createAgentsListCommand } from './commands/agents-list.js';
import { createAgentsRemoveCommand } from './commands/agents-remove.js';
import { createAgentsRenameCommand } from './commands/agents-rename.js';
import { createAgentsRestartCommand } from './commands/agents-restart.js';
import { createAgentsShowCommand } from './commands/agents-show.js';
import { createAgentsStopCommand } from './commands/agents-stop.js';
import { createAgentsUpdateCommand } from './commands/agents-update.js';
import { createAuditListCommand } from './commands/audit-list.js';
import { createAuditVerifyCommand } from './commands/audit-verify.js';
import { createBackupCreateCommand } from './commands/backup-create.js';
import { createBackupRestoreCommand } from './commands/backup-restore.js';
import { createContainersActionCommand } from './commands/containers-action.js';
import { createContainersAutoUpdateCommand } from './commands/containers-auto-update.js';
import { createContainersDeployCommand, createContainersRemoveCommand, createContainersUpdateCommand } from './commands/containers-deploy.js';
import { createImagesCommand } from './commands/images-manage.js';
import { createContainersListCommand } from './commands/containers-list.js';
import { createContainersLogsCommand } from './commands/containers-logs.js';
import { createDbCommand } from './commands/db-check.js';
import { createDevCommand } from './commands/dev-run.js';
import { createExecCommand } from './commands/exec-run.js';
import { createShellCommand } from './commands/shell.js';
import { createHubCommand } from './commands/hub-run.js';
import { createLoginCommand } from './commands/hub-login.js';
import { createJobsCancelCommand } from './commands/jobs-cancel.js';
import { createJobsListCommand } from './commands/jobs-list.js';
import { createJobsShowCommand } from './commands/jobs-show.js';
import { createMcpCommand } from './commands/mcp-serve.js';
import { createScreenshotCommand } from './commands/screenshot.js';
import { createSecretsListCommand } from './commands/secrets-list.js';
import { createSecretsRemoveCommand } from './commands/secrets-remove.js';
import { createSecretsRevealCommand } from './commands/secrets-reveal.js';
import { createSecretsSetCommand } from './commands/secrets-set.js';
import { createTokenCreateCommand } from './commands/token-create.js';
import { createTokenListCommand } from './commands/token-list.js';
import { createTokenRevokeCommand } from './commands/token-revoke.js';
import { createTokensCreateCommand } from './commands/tokens-create.js';
import { createTokensListCommand } from './commands/tokens-list.js';
import { createTokensRevokeCommand } from './commands/tokens-revoke.js';
import { createUsersAddCommand } from './commands/users-add.js';
import { createUsersListCommand } from './commands/users-list.js';
import { createUsersDisableCommand, createUsersRoleCommand } from './commands/users-update.js';
import { createProcessContext, type CliContext } from './context.js';
import { withConnectionOptions } from './options.js';

/**
 * The sibling bundles, relative to this file. Both the bundle (apps/cli/dist/farol.mjs) and the
 * source (apps/cli/src/main.ts) sit two levels below apps/, so the same relative URL works.
 */
const DEFAULT_BUNDLES = {
  hub: new URL('../../hub/dist/hub.mjs', import.meta.url),
  agent: new URL('../../agent/dist/farol-agent.mjs', import.meta.url),
};

/** Builds the whole command tree for one run; nothing is shared between runs. */
export function buildProgram(context: CliContext): Command {
  const program = new Command('farol')
    .description('Farol: a self-hosted control plane for a fleet of machines')
    .version(FAROL_VERSION, '-v, --version')
    // Options before a subcommand belong to the program, the rest to the subcommand, so that
    // `farol agent --hub X` reaches the agent untouched.
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: context.stdout,
      writeErr: context.stderr,
      outputError: (text, write) => write(text.replace(/^error: /, 'farol: ')),
    });
  withConnectionOptions(program);

  const agents = new Command('agents').description('list, inspect, label, rename, update and remove agents');
  const agentCommands = [
    createAgentsListCommand,
    createAgentsShowCommand,
    createAgentsRemoveCommand,
    createAgentsLabelCommand,
    createAgentsRenameCommand,
    createAgentsRestartCommand,
    createAgentsStopCommand,
    createAgentsUpdateCommand,
  ];
  for (const create of agentCommands) agents.addCommand(create(context));
  // `join-tokens` (machines enroll with them) and `api-tokens` (scripts sign in with them) are
  // the names; the older `token` and `tokens` still work but are hidden from help (#21).
  const joinTokenCommands = [createTokenCreateCommand, createTokenListCommand, createTokenRevokeCommand];
  const apiTokenCommands = [createTokensCreateCommand, createTokensListCommand, createTokensRevokeCommand];
  const joinTokens = new Command('join-tokens').description('tokens that let new machines join: create (prints the install lines), ls, revoke');
  for (const create of joinTokenCommands) joinTokens.addCommand(create(context));
  const apiTokens = new Command('api-tokens').description('your API tokens for scripts and CI: create, ls, revoke');
  for (const create of apiTokenCommands) apiTokens.addCommand(create(context));
  const hiddenAliases = [new Command('token').description('old name of join-tokens'), new Command('tokens').description('old name of api-tokens')];
  for (const create of joinTokenCommands) hiddenAliases[0]!.addCommand(create(context));
  for (const create of apiTokenCommands) hiddenAliases[1]!.addCommand(create(context));
  const users = new Command('users').description('users and their roles: ls, add, disable, role (needs users:manage)');
  for (const create of [createUsersListCommand, createUsersAddCommand, createUsersDisableCommand, createUsersRoleCommand]) users.addCommand(create(context));

  const secrets = new Command('secrets').description('secrets passed to commands as environment variables (farol exec --secret NAME)');
  for (const create of [createSecretsSetCommand, createSecretsListCommand, createSecretsRemoveCommand, createSecretsRevealCommand]) secrets.addCommand(create(context));
  const jobs = new Command('jobs').description('list, inspect and cancel jobs (commands run on machines)');
  for (const create of [createJobsListCommand, createJobsShowCommand, createJobsCancelCommand]) jobs.addCommand(create(context));
  const containers = new Command('containers').description('a machine\'s Docker containers: ls, restart, stop, start, logs, deploy, update, rm, auto-update');
  containers.addCommand(createContainersListCommand(context));
  for (const verb of ['restart', 'stop', 'start'] as const) containers.addCommand(createContainersActionCommand(verb, context));
  containers.addCommand(createContainersLogsCommand(context));
  for (const create of [createContainersDeployCommand, createContainersUpdateCommand, createContainersRemoveCommand]) containers.addCommand(create(context));
  containers.addCommand(createContainersAutoUpdateCommand(context));
  const alerts = new Command('alerts').description('alerts firing now and their history; acknowledge one');
  for (const create of [createAlertsListCommand, createAlertsAckCommand]) alerts.addCommand(create(context));
  const silence = new Command('silence').description('silence alerts of machines or rules for a time window');
  for (const create of [createSilenceAddCommand, createSilenceListCommand, createSilenceRemoveCommand]) silence.addCommand(create(context));
  const channels = new Command('channels').description('notification channels (Telegram, Discord, Slack, WhatsApp, e-mail, ntfy, Teams, webhooks): ls, test, add, rm, telegram');
  for (const create of [createChannelsListCommand, createChannelsTestCommand, createChannelsAddCommand, createChannelsRemoveCommand, createChannelsTelegramCommand]) channels.addCommand(create(context));
  const checks = new Command('checks').description('service checks (HTTP, TCP, ping, DNS, Nagios plugins) from the hub or from machines: ls, add, rm, show, run');
  for (const create of [createChecksListCommand, createChecksAddCommand, createChecksRemoveCommand, createChecksShowCommand, createChecksRunCommand]) checks.addCommand(create(context));
  const network = new Command('network').description('the network between machines: status (hub round trips, links that got worse), topology, ping A B');
  for (const create of [createNetworkStatusCommand, createNetworkTopologyCommand, createNetworkPingCommand]) network.addCommand(create(context));
  const rules = new Command('rules').description('alert rules');
  rules.addCommand(createRulesListCommand(context));
  const audit = new Command('audit').description('the audit log: who ran what on which machines (farol audit, farol audit verify)');
  audit.addCommand(createAuditListCommand(context), { isDefault: true });
  audit.addCommand(createAuditVerifyCommand(context));
  const backup = new Command('backup').description('encrypted backups of a SQLite hub: create (online, through the hub), restore (into a new data directory)');
  for (const create of [createBackupCreateCommand, createBackupRestoreCommand]) backup.addCommand(create(context));

  for (const command of [
    createLoginCommand(context),
    agents,
    joinTokens,
    apiTokens,
    users,
    createExecCommand(context),
    createShellCommand(context),
    jobs,
    containers,
    createImagesCommand(context),
    createScreenshotCommand(context),
    secrets,
    alerts,
    silence,
    rules,
    checks,
    network,
    createStatusPagesCommand(context),
    channels,
    audit,
    createMcpCommand(context),
    createHubCommand(context),
    createDbCommand(context),
    backup,
    createDevCommand(context),
    ...createAgentCommands(context),
  ]) {
    program.addCommand(command);
  }
  for (const alias of hiddenAliases) program.addCommand(alias, { hidden: true });
  // Subcommands copy these settings only when created through program.command(), so apply them
  // to the whole tree here.
  applyToTree(program, (command) => {
    command.exitOverride();
    command.configureOutput(program.configureOutput());
    command.showSuggestionAfterError();
  });
  return program;
}

function applyToTree(command: Command, apply: (command: Command) => void): void {
  for (const sub of command.commands) {
    apply(sub);
    applyToTree(sub, apply);
  }
}

/**
 * Runs `farol` with a process argv (`[node, script, ...args]`). Returns the exit code and sets
 * `process.exitCode` to it when running for real; errors are printed as one line, never thrown.
 */
export async function main(argv: readonly string[], context?: CliContext): Promise<number> {
  const ctx = context ?? createProcessContext(DEFAULT_BUNDLES);
  let exitCode = 0;
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'node' });
  } catch (error) {
    exitCode = reportError(error, ctx);
  }
  if (!context) process.exitCode = exitCode;
  return exitCode;
}
