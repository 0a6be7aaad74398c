// First: sets the agent's V8 flags before anything else is evaluated (issue #16).
import { isLeanAgentProgram } from './runtime/lean-v8.js';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { COMMAND_KINDS, FAROL_VERSION } from '@farol/protocol';
import { ConfigError, loadAgentConfig, loadSimulateConfig, type AgentFlags, type SimulateFlags } from './config.js';
import { defaultCommandContext, createCommandLogger, type CommandContext } from './commands/context.js';
import { ensureIdentity, prepareStateDir } from './commands/enroll.command.js';
import { runAgent } from './commands/run.command.js';
import { showPolicy, writePolicyCommand } from './commands/policy.command.js';
import { simulateAgents } from './commands/simulate.command.js';
import { AgentExitError, EXIT_CODES } from './runtime/exit-error.js';
import { acquireStateLock } from './runtime/state-lock.js';
import { releaseSchemaRegistry } from './runtime/schema-registry.js';

// The agent program itself (not a test that imports this file), every module loaded: the schema
// registry serves only the hub's API documents (runtime/schema-registry.ts).
if (isLeanAgentProgram) releaseSchemaRegistry();

function identityOptions(command: Command): Command {
  return command
    .addOption(new Option('--hub <url>', 'hub base URL, or several separated by commas to fail over between them (env FAROL_HUB_URL)'))
    .addOption(new Option('--token <token>', 'join token, used only to enroll (env FAROL_JOIN_TOKEN)'))
    .addOption(new Option('--state <dir>', 'state directory (env FAROL_AGENT_STATE_DIR; default /var/lib/farol-agent as root, else ~/.local/state/farol-agent)'))
    .addOption(new Option('--name <name>', 'name to ask for at enrollment (default: hostname)'))
    .addOption(new Option('--ca-file <pem>', 'trust this CA (and only it) for an https hub with a private certificate (env FAROL_CA_FILE)'))
    .addOption(new Option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent (env FAROL_LOG_LEVEL)'));
}

function buildProgram(context: CommandContext, setExitCode: (code: number) => void): Command {
  const program = new Command('farol-agent')
    .description('Farol agent: reports this machine to a Farol hub')
    .version(FAROL_VERSION, '-v, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    });

  identityOptions(program.command('run', { isDefault: true }).description('enroll if needed, then report to the hub until stopped (default)'))
    .addOption(new Option('--interval <duration>', 'heartbeat interval, e.g. 10s (env FAROL_HEARTBEAT_INTERVAL)'))
    .addOption(new Option('--reconnect-max <duration>', 'cap of the reconnect backoff (env FAROL_RECONNECT_MAX_DELAY)'))
    .addOption(new Option('--buffer-max-age <duration>', 'drop buffered samples older than this (env FAROL_BUFFER_MAX_AGE)'))
    .addOption(new Option('--buffer-max-bytes <size>', 'disk space for buffered samples, e.g. 50MB (env FAROL_BUFFER_MAX_BYTES)'))
    .addOption(new Option('--policy <file>', 'which remote commands this machine allows (env FAROL_AGENT_POLICY; default <state>/policy.json)'))
    .addOption(new Option('--terminal-max-sessions <n>', 'interactive terminals at once, 0 for none (env FAROL_TERMINAL_MAX_SESSIONS; default 8)'))
    .addOption(new Option('--terminal-idle-timeout <duration>', 'close a terminal without input for this long (env FAROL_TERMINAL_IDLE_TIMEOUT; default 30m)'))
    .addOption(new Option('--docker-host <url>', 'Docker engine, unix:///path or tcp://host:port (env DOCKER_HOST; default unix:///var/run/docker.sock)'))
    .addOption(new Option('--watch-containers <list>', 'containers that must be up: names or globs, comma-separated (env FAROL_WATCH_CONTAINERS or WATCH_CONTAINERS)'))
    .addOption(new Option('--container-update-check <duration>', 'how often the registry is asked for newer image digests of the containers (env FAROL_CONTAINER_UPDATE_CHECK, default 5m)'))
    .action(async (flags: AgentFlags) => {
      setExitCode(await runAgent(loadAgentConfig(flags, context.env), context));
    });

  identityOptions(program.command('enroll').description('enroll this machine with a hub, then exit')).action(async (flags: AgentFlags) => {
    const config = loadAgentConfig(flags, context.env);
    if (!config.hubUrl || !config.joinToken) {
      throw new AgentExitError('enroll needs --hub URL and --token TOKEN (create a token with `farol join-tokens create`)', EXIT_CODES.usage);
    }
    // The same lock as `run` (issue #12): never enroll under a running agent.
    prepareStateDir(config.stateDir);
    const lock = acquireStateLock(config.stateDir);
    try {
      await ensureIdentity(config, context, createCommandLogger(context, config.logLevel), { requireNew: true });
    } finally {
      lock.release();
    }
    setExitCode(EXIT_CODES.ok);
  });

  const policyOptions = (command: Command): Command =>
    command
      .addOption(new Option('--state <dir>', 'state directory (env FAROL_AGENT_STATE_DIR)'))
      .addOption(new Option('--policy <file>', 'policy file (env FAROL_AGENT_POLICY; default <state>/policy.json)'));
  const policy = program
    .command('policy')
    .description(`which remote commands this machine runs (${COMMAND_KINDS.join(', ')}); the hub cannot change it`);
  policyOptions(policy.command('show').description('print the policy in force')).action((flags: AgentFlags) => {
    showPolicy(loadAgentConfig(flags, context.env), context);
  });
  policyOptions(policy.command('lock').description('refuse every remote command (writes {"allow": []})')).action((flags: AgentFlags) => {
    writePolicyCommand(loadAgentConfig(flags, context.env), [], context);
  });
  policyOptions(policy.command('allow').description('allow only these kinds ("*" for all; docker: ps, logs, restart, stop, start; docker_write: container restart/stop/start; docker.deploy: deploy/update/rm, off unless listed; docker.images: pull/images/prune)').argument('<kinds...>')).action((kinds: string[], flags: AgentFlags) => {
    writePolicyCommand(loadAgentConfig(flags, context.env), kinds, context);
  });

  program
    .command('simulate')
    .description('simulate many agents against a hub and measure heartbeat latency')
    .addOption(new Option('--hub <url>', 'hub base URL, or several separated by commas (env FAROL_HUB_URL)'))
    .addOption(new Option('--token <token>', 'join token allowing --agents uses (env FAROL_JOIN_TOKEN)'))
    .addOption(new Option('--agents <n>', 'number of simulated agents'))
    .addOption(new Option('--interval <duration>', 'heartbeat interval (default 10s)'))
    .addOption(new Option('--state <dir>', 'where sim-identities.json is kept (default ./farol-sim)'))
    .addOption(new Option('--duration <duration>', 'stop after this long (default: until Ctrl-C)'))
    .addOption(new Option('--report-json <file>', 'also write the summary as JSON'))
    .addOption(new Option('--link-log <file>', 'append every link and unlink as a JSON line (reconnect measurements)'))
    .addOption(new Option('--connect-concurrency <n>', 'connections set up at once (default 200)'))
    .addOption(new Option('--log-level <level>', 'log level (default warn)'))
    .action(async (flags: SimulateFlags) => {
      setExitCode(await simulateAgents(loadSimulateConfig(flags, context.env), context));
    });

  return program;
}

/**
 * Runs the agent CLI. `argv` is shaped like process.argv (node, script, ...arguments). Sets
 * `process.exitCode` rather than exiting, so callers can embed it: 0 ok, 1 failure (e.g.
 * enrollment refused), 2 bad usage or configuration, 3 refused for good by the hub.
 */
export async function runAgentCommand(argv: string[], context: CommandContext = defaultCommandContext()): Promise<void> {
  let exitCode: number = EXIT_CODES.ok;
  const program = buildProgram(context, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'node' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; commander already printed usage errors.
      exitCode = error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    } else if (error instanceof ConfigError) {
      context.stderr.write(`farol-agent: ${error.message}\n`);
      exitCode = EXIT_CODES.usage;
    } else if (error instanceof AgentExitError) {
      context.stderr.write(`farol-agent: ${error.message}\n`);
      exitCode = error.exitCode;
    } else {
      throw error;
    }
  }
  process.exitCode = exitCode;
}

function isMainModule(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch (error) {
    // argv[1] that does not resolve to a file (node -e, a REPL) is not this module.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

if (isMainModule()) {
  runAgentCommand(process.argv).then(
    // Exit explicitly: a stray keep-alive socket must not hold a stopping agent past 2 s.
    () => process.exit(),
    (error: unknown) => {
      console.error('farol-agent: unexpected error', error);
      process.exit(EXIT_CODES.failure);
    },
  );
}
