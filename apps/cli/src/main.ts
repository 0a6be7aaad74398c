import { FAROL_VERSION } from '@farol/protocol';
import { Command } from 'commander';
import { reportError } from './cli-error.js';
import { createAgentCommands } from './commands/agent-run.js';
import { createAlertsAckCommand } from './commands/alerts-ack.js';
import { createChannelsAddCommand } from './commands/channels-add.js';
import { createChannelsListCommand } from './commands/channels-list.js';
import { createChannelsRemoveCommand } from './commands/channels-remove.js';
import { createChannelsTestCommand } from './commands/channels-test.js';
import { createAlertsListCommand } from './commands/alerts-list.js';
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
import { createAuditListCommand } from './commands/audit-list.js';
import { createAuditVerifyCommand } from './commands/audit-verify.js';
import { createContainersActionCommand } from './commands/containers-action.js';
import { createContainersListCommand } from './commands/containers-list.js';
import { createContainersLogsCommand } from './commands/containers-logs.js';
import { createDevCommand } from './commands/dev-run.js';
import { createExecCommand } from './commands/exec-run.js';
import { createShellCommand } from './commands/shell.js';
import { createHubCommand } from './commands/hub-run.js';
import { createLoginCommand } from './commands/hub-login.js';
import { createJobsCancelCommand } from './commands/jobs-cancel.js';
import { createJobsListCommand } from './commands/jobs-list.js';
import { createJobsShowCommand } from './commands/jobs-show.js';
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

  const agents = new Command('agents').description('list, inspect, label, rename and remove agents');
  const agentCommands = [
    createAgentsListCommand,
    createAgentsShowCommand,
    createAgentsRemoveCommand,
    createAgentsLabelCommand,
    createAgentsRenameCommand,
    createAgentsRestartCommand,
    createAgentsStopCommand,
  ];
  for (const create of agentCommands) agents.addCommand(create(context));
  const token = new Command('token').description('create, list and revoke join tokens');
  for (const create of [createTokenCreateCommand, createTokenListCommand, createTokenRevokeCommand]) {
    token.addCommand(create(context));
  }

  // `farol token` predates accounts and means join tokens; `farol join-tokens` is the clear name.
  const joinTokens = new Command('join-tokens').description('create, list and revoke join tokens (same as farol token)');
  for (const create of [createTokenCreateCommand, createTokenListCommand, createTokenRevokeCommand]) joinTokens.addCommand(create(context));
  const apiTokens = new Command('tokens').description('your API tokens for scripts and CI: create, ls, revoke');
  for (const create of [createTokensCreateCommand, createTokensListCommand, createTokensRevokeCommand]) apiTokens.addCommand(create(context));
  const users = new Command('users').description('users and their roles: ls, add, disable, role (needs users:manage)');
  for (const create of [createUsersListCommand, createUsersAddCommand, createUsersDisableCommand, createUsersRoleCommand]) users.addCommand(create(context));

  const secrets = new Command('secrets').description('secrets passed to commands as environment variables (farol exec --secret NAME)');
  for (const create of [createSecretsSetCommand, createSecretsListCommand, createSecretsRemoveCommand, createSecretsRevealCommand]) secrets.addCommand(create(context));
  const jobs = new Command('jobs').description('list, inspect and cancel jobs (commands run on machines)');
  for (const create of [createJobsListCommand, createJobsShowCommand, createJobsCancelCommand]) jobs.addCommand(create(context));
  const containers = new Command('containers').description('a machine\'s Docker containers: ls, restart, stop, start, logs');
  containers.addCommand(createContainersListCommand(context));
  for (const verb of ['restart', 'stop', 'start'] as const) containers.addCommand(createContainersActionCommand(verb, context));
  containers.addCommand(createContainersLogsCommand(context));
  const alerts = new Command('alerts').description('alerts firing now and their history; acknowledge one');
  for (const create of [createAlertsListCommand, createAlertsAckCommand]) alerts.addCommand(create(context));
  const silence = new Command('silence').description('silence alerts of machines or rules for a time window');
  for (const create of [createSilenceAddCommand, createSilenceListCommand, createSilenceRemoveCommand]) silence.addCommand(create(context));
  const channels = new Command('channels').description('notification channels (Telegram, Discord, Slack, WhatsApp, e-mail, ntfy, Teams, webhooks): ls, test, add, rm');
  for (const create of [createChannelsListCommand, createChannelsTestCommand, createChannelsAddCommand, createChannelsRemoveCommand]) channels.addCommand(create(context));
  const rules = new Command('rules').description('alert rules');
  rules.addCommand(createRulesListCommand(context));
  const audit = new Command('audit').description('the audit log: who ran what on which machines (farol audit, farol audit verify)');
  audit.addCommand(createAuditListCommand(context), { isDefault: true });
  audit.addCommand(createAuditVerifyCommand(context));

  for (const command of [
    createLoginCommand(context),
    agents,
    token,
    joinTokens,
    apiTokens,
    users,
    createExecCommand(context),
    createShellCommand(context),
    jobs,
    containers,
    createScreenshotCommand(context),
    secrets,
    alerts,
    silence,
    rules,
    channels,
    audit,
    createHubCommand(context),
    createDevCommand(context),
    ...createAgentCommands(context),
  ]) {
    program.addCommand(command);
  }
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
