import { FAROL_VERSION } from '@farol/protocol';
import { Command } from 'commander';
import { reportError } from './cli-error.js';
import { createAgentCommands } from './commands/agent-run.js';
import { createAgentsLabelCommand } from './commands/agents-label.js';
import { createAgentsListCommand } from './commands/agents-list.js';
import { createAgentsRemoveCommand } from './commands/agents-remove.js';
import { createAgentsRenameCommand } from './commands/agents-rename.js';
import { createAgentsRestartCommand } from './commands/agents-restart.js';
import { createAgentsShowCommand } from './commands/agents-show.js';
import { createAgentsStopCommand } from './commands/agents-stop.js';
import { createAuditListCommand } from './commands/audit-list.js';
import { createAuditVerifyCommand } from './commands/audit-verify.js';
import { createDevCommand } from './commands/dev-run.js';
import { createExecCommand } from './commands/exec-run.js';
import { createHubCommand } from './commands/hub-run.js';
import { createLoginCommand } from './commands/hub-login.js';
import { createJobsCancelCommand } from './commands/jobs-cancel.js';
import { createJobsListCommand } from './commands/jobs-list.js';
import { createJobsShowCommand } from './commands/jobs-show.js';
import { createTokenCreateCommand } from './commands/token-create.js';
import { createTokenListCommand } from './commands/token-list.js';
import { createTokenRevokeCommand } from './commands/token-revoke.js';
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

  const jobs = new Command('jobs').description('list, inspect and cancel jobs (commands run on machines)');
  for (const create of [createJobsListCommand, createJobsShowCommand, createJobsCancelCommand]) jobs.addCommand(create(context));
  const audit = new Command('audit').description('the audit log: who ran what on which machines (farol audit, farol audit verify)');
  audit.addCommand(createAuditListCommand(context), { isDefault: true });
  audit.addCommand(createAuditVerifyCommand(context));

  for (const command of [
    createLoginCommand(context),
    agents,
    token,
    createExecCommand(context),
    jobs,
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
