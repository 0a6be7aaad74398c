import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError } from './cli-error.js';
import type { CliContext } from './context.js';

/**
 * What `farol hub` and `farol dev` may override in the hub's config; everything else comes
 * from the hub's own config (environment variables).
 */
export interface HubOverrides {
  port?: number;
  bind?: string;
  dataDir?: string;
  publicUrl?: string;
  logLevel?: string;
  databaseUrl?: string;
  redisUrl?: string;
  hubId?: string;
}

/** A hub started in this process by `startHub`. */
export interface RunningHub {
  url: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  /** Null when the token came from the environment (FAROL_ADMIN_TOKEN) rather than a file. */
  adminTokenPath: string | null;
  /** The `admin` user's password, generated at the first start only (issue #6); null or absent after. */
  adminPassword?: string | null;
  close(): Promise<void>;
}

/** The exports of apps/hub/dist/hub.mjs the launcher relies on. */
export interface HubBundle {
  runHub(overrides: HubOverrides): Promise<unknown>;
  /** `env` is where the hub reads its FAROL_* settings; `seams.logDestination` takes its log lines. */
  startHub(overrides: HubOverrides, env?: Record<string, string | undefined>, seams?: { logDestination?: NodeJS.WritableStream }): Promise<RunningHub>;
}

/** The export of apps/agent/dist/farol-agent.mjs the launcher relies on. */
export interface AgentBundle {
  /**
   * Runs the agent's own CLI on a process-style argv (`[node, script, ...arguments]`). Reports
   * its exit code through `process.exitCode`, or returns it.
   */
  runAgentCommand(argv: string[]): Promise<number | void> | number | void;
}

/**
 * Imports one export of a sibling app's bundle. This is the one place the CLI crosses into
 * another app, and it does so through the built bundle, never the source (see the ADR on the
 * `farol` launcher).
 */
export async function loadBundleExport<B, K extends keyof B & string>(
  context: Pick<CliContext, 'importModule'>,
  bundle: URL,
  app: 'hub' | 'agent',
  name: K,
): Promise<B[K]> {
  const file = fileURLToPath(bundle);
  let module: Record<string, unknown>;
  try {
    module = await context.importModule(bundle);
  } catch (error) {
    if (!existsSync(file)) {
      throw new CliError(`the ${app} is not built (${file} is missing); run npm run build in the Farol checkout`, { cause: error });
    }
    throw new CliError(`cannot load ${file}: ${(error as Error).message}; rebuild with npm run build`, { cause: error });
  }
  const value = module[name];
  if (typeof value !== 'function') {
    throw new CliError(`${file} does not export ${name}(); it may be from another Farol version, rebuild with npm run build`);
  }
  return value as B[K];
}
