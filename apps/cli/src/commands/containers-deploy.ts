import {
  DEFAULT_UPDATE_GRACE_SECONDS,
  DEFAULT_UPDATE_HEALTH_TIMEOUT_SECONDS,
  DockerDeployCommandSchema,
  parseMountSpec,
  parsePortSpec,
  RESTART_POLICIES,
  SecretNameSchema,
  type Command as FarolCommand,
  type DockerDeployCommand,
} from '@farol/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../cli-error.js';
import type { CliContext } from '../context.js';
import { collect, withConnectionOptions } from '../options.js';
import { parseContainerRef } from './containers-action.js';
import { parseDurationOption, parseSelector, runJobStreaming } from './exec-run.js';

/** Pulls can take a while: the container commands wait this long per machine unless --timeout says otherwise. */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

interface DeployOptions {
  image: string;
  name: string;
  publish?: string[];
  env?: string[];
  envSecret?: string[];
  registrySecret?: string;
  volume?: string[];
  restart?: DockerDeployCommand['restart'];
  label?: string[];
  network?: string;
  healthCmd?: string;
  healthInterval?: number;
  healthRetries?: number;
  timeout?: number;
  ttl?: number;
}

function assignments(values: string[] | undefined, what: string): Record<string, string> | undefined {
  if (!values) return undefined;
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what} ${JSON.stringify(value)}: expected KEY=value`);
    out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

/** `--registry-secret NAME` (ADR 0023): a hub secret holding {"username","password"}. */
export function parseRegistrySecret(text: string): string {
  if (!SecretNameSchema.safeParse(text).success) throw new InvalidArgumentError('a secret name: letters, digits and _, not starting with a digit');
  return text;
}

export const REGISTRY_SECRET_HELP = 'hub secret holding the registry login as {"username":"…","password":"…"}; fetched by the agent for the pull, never stored in the job';

function wholeNumber(text: string): number {
  if (!/^\d{1,6}$/.test(text)) throw new InvalidArgumentError('expected a whole number');
  return Number(text);
}

/**
 * The deploy command from the options, validated by the protocol schema the hub and agent use,
 * so a wrong field is told here, by its flag, before anything is sent.
 */
export function buildDeployCommand(options: DeployOptions): DockerDeployCommand {
  const ports = (options.publish ?? []).map((spec) => {
    const port = parsePortSpec(spec);
    if (typeof port === 'string') throw new UsageError(`-p ${spec}: ${port}`);
    return port;
  });
  const mounts = (options.volume ?? []).map((spec) => {
    const mount = parseMountSpec(spec);
    if (typeof mount === 'string') throw new UsageError(`-v ${spec}: ${mount}`);
    return mount;
  });
  const env = assignments(options.env, '-e');
  const labels = assignments(options.label, '--label');
  // --health-cmd is split on spaces and run directly (no shell): `--health-cmd "wget -q -O- http://localhost/"`.
  const healthCmd = options.healthCmd?.trim().split(/\s+/).filter(Boolean);
  const parsed = DockerDeployCommandSchema.safeParse({
    kind: 'docker_deploy',
    image: options.image,
    name: options.name,
    ...(ports.length > 0 ? { ports } : {}),
    ...(env ? { env } : {}),
    ...(options.envSecret ? { secrets: options.envSecret } : {}),
    ...(options.registrySecret ? { registrySecret: options.registrySecret } : {}),
    ...(mounts.length > 0 ? { mounts } : {}),
    ...(options.restart ? { restart: options.restart } : {}),
    ...(labels ? { labels } : {}),
    ...(options.network ? { network: options.network } : {}),
    ...(healthCmd && healthCmd.length > 0
      ? { health: { cmd: healthCmd, ...(options.healthInterval ? { intervalSeconds: options.healthInterval } : {}), ...(options.healthRetries ? { retries: options.healthRetries } : {}) } }
      : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // A bad env or label key is reported inside the record's issue.
    const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    throw new UsageError(`${issue.path.join('.') || 'deploy'}: ${message}`);
  }
  return parsed.data;
}

/** `farol containers deploy SELECTOR --image IMAGE --name NAME ...` (#18). */
export function createContainersDeployCommand(context: CliContext): Command {
  const command = new Command('deploy')
    .description('create and start a container on machines (pulls the image when missing); needs docker.deploy in the machine\'s agent policy')
    .argument('<selector>', 'a machine name, names separated by commas, a label selector (role=web), or all')
    .requiredOption('--image <image>', 'image reference, e.g. nginx:1.27')
    .requiredOption('--name <name>', 'container name')
    .option('-p, --publish <host:container>', 'publish a port, [IP:]HOST:CONTAINER[/udp] (repeat)', collect)
    .option('-e, --env <KEY=value>', 'an environment variable (repeat); stored in the job, so nothing secret', collect)
    .option('--env-secret <NAME>', 'the hub secret NAME as the environment variable NAME (repeat); fetched by the agent, never stored in the job', collect)
    .option('--registry-secret <NAME>', REGISTRY_SECRET_HELP, parseRegistrySecret)
    .option('-v, --volume <host:container[:ro]>', 'bind-mount an absolute host path (repeat)', collect)
    .addOption(new Option('--restart <policy>', 'restart policy').choices(RESTART_POLICIES))
    .option('--label <key=value>', 'a container label (repeat)', collect)
    .option('--network <name>', 'network to join (default Docker\'s bridge)')
    .option('--health-cmd <command>', 'health check, run directly in the container (split on spaces)')
    .option('--health-interval <seconds>', 'seconds between health checks', wholeNumber)
    .option('--health-retries <n>', 'failures before unhealthy', wholeNumber)
    .option('--timeout <duration>', 'per machine, e.g. 5m (default 10m)', parseDurationOption)
    .option('--ttl <duration>', 'offline machines may still run it when they return within this (default 5m)', parseDurationOption);
  withConnectionOptions(command).action(async (selector: string, options: DeployOptions) => {
    await runJobStreaming(command, context, parseSelector(selector), buildDeployCommand(options), { ttl: options.ttl, timeout: options.timeout ?? DEFAULT_TIMEOUT_MS });
  });
  return command;
}

/** `farol containers rm MACHINE NAME [--force]` (#18). */
export function createContainersRemoveCommand(context: CliContext): Command {
  const command = new Command('rm')
    .description('remove a container (needs docker.deploy in the machine\'s agent policy)')
    .argument('<selector>', 'a machine name, names separated by commas, or a label selector')
    .argument('<name>', 'container name or id', parseContainerRef)
    .option('-f, --force', 'stop it first when it runs');
  withConnectionOptions(command).action(async (selector: string, container: string, options: { force?: boolean }) => {
    const remote: FarolCommand = { kind: 'docker_rm', container, ...(options.force ? { force: true } : {}) };
    await runJobStreaming(command, context, parseSelector(selector), remote, {});
  });
  return command;
}

/** `farol containers update MACHINE NAME` (#18): new digest → recreate, health gate, rollback. */
export function createContainersUpdateCommand(context: CliContext): Command {
  const command = new Command('update')
    .description('pull the container\'s image; on a new digest recreate it with the same configuration, and roll back if it is not healthy')
    .argument('<selector>', 'a machine name, names separated by commas, or a label selector')
    .argument('<name>', 'container name', parseContainerRef)
    .option('--health-timeout <seconds>', `wait this long for healthy (default ${DEFAULT_UPDATE_HEALTH_TIMEOUT_SECONDS})`, wholeNumber)
    .option('--grace <seconds>', `without a health check, running this long counts as good (default ${DEFAULT_UPDATE_GRACE_SECONDS})`, wholeNumber)
    .option('--registry-secret <NAME>', REGISTRY_SECRET_HELP, parseRegistrySecret)
    .option('--timeout <duration>', 'per machine, e.g. 5m (default 10m)', parseDurationOption);
  withConnectionOptions(command).action(async (selector: string, container: string, options: { healthTimeout?: number; grace?: number; registrySecret?: string; timeout?: number }) => {
    const remote: FarolCommand = {
      kind: 'docker_update',
      container,
      ...(options.healthTimeout ? { healthTimeoutSeconds: options.healthTimeout } : {}),
      ...(options.grace ? { graceSeconds: options.grace } : {}),
      ...(options.registrySecret ? { registrySecret: options.registrySecret } : {}),
    };
    await runJobStreaming(command, context, parseSelector(selector), remote, { timeout: options.timeout ?? DEFAULT_TIMEOUT_MS });
  });
  return command;
}
