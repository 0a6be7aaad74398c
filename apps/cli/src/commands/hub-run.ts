import path from 'node:path';
import { Command } from 'commander';
import { loadBundleExport, type HubBundle, type HubOverrides } from '../bundles.js';
import { parseHubUrl } from '../connection.js';
import type { CliContext } from '../context.js';
import { parsePort } from '../options.js';

/** Flags shared by `farol hub` and `farol dev`. */
export interface HubFlags {
  port?: number;
  bind?: string;
  data?: string;
  publicUrl?: string;
  logLevel?: string;
  databaseUrl?: string;
  redisUrl?: string;
  hubId?: string;
}

/** Adds `--port`, `--bind`, `--data` and `--log-level` to a command. */
export function withHubFlags(command: Command): Command {
  return command
    .option('--port <n>', 'TCP port to listen on', parsePort)
    .option('--bind <address>', 'address to listen on, e.g. 0.0.0.0 for every interface')
    .option('--data <dir>', 'data directory (database, keys, admin token)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent');
}

/** Turns flags into the hub's overrides, leaving out what was not given. */
export function hubOverridesFrom(flags: HubFlags, cwd: string): HubOverrides {
  return {
    ...(flags.port === undefined ? {} : { port: flags.port }),
    ...(flags.bind === undefined ? {} : { bind: flags.bind }),
    ...(flags.data === undefined ? {} : { dataDir: path.resolve(cwd, flags.data) }),
    ...(flags.publicUrl === undefined ? {} : { publicUrl: parseHubUrl(flags.publicUrl) }),
    ...(flags.logLevel === undefined ? {} : { logLevel: flags.logLevel }),
    ...(flags.databaseUrl === undefined ? {} : { databaseUrl: flags.databaseUrl }),
    ...(flags.redisUrl === undefined ? {} : { redisUrl: flags.redisUrl }),
    ...(flags.hubId === undefined ? {} : { hubId: flags.hubId }),
  };
}

/** `farol hub`: runs the hub in this process until it is stopped. */
export function createHubCommand(context: CliContext): Command {
  const command = withHubFlags(new Command('hub').description('run the hub (API, dashboard, agent endpoint)'))
    .option('--public-url <url>', 'URL machines use to reach this hub (install scripts, join commands)')
    .option('--database-url <url>', 'PostgreSQL to store everything in (postgres://user@host:5432/db); default: SQLite in the data directory')
    .option('--redis-url <url>', 'Redis that several hubs share (redis://host:6379); needs --database-url')
    .option('--hub-id <name>', "this hub's name among several hubs; default <hostname>:<port>");
  command.action(async (flags: HubFlags) => {
    const overrides = hubOverridesFrom(flags, context.cwd);
    const runHub = await loadBundleExport<HubBundle, 'runHub'>(context, context.bundles.hub, 'hub', 'runHub');
    await runHub(overrides);
  });
  return command;
}
