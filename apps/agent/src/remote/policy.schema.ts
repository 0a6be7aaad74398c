import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { COMMAND_KINDS, DOCKER_COMMAND_KINDS, DOCKER_DEPLOY_COMMAND_KINDS, DOCKER_IMAGE_COMMAND_KINDS, DOCKER_WRITE_COMMAND_KINDS, type CommandKind } from '@farol/protocol';
import { writePrivateFileAtomic } from '../identity/identity.repository.js';

/** What a policy names: the remote command kinds, and `terminal` (interactive shells). */
export const POLICY_KINDS = [...COMMAND_KINDS, 'terminal'] as const;
export type PolicyKind = CommandKind | 'terminal';

/** Names in the allow list that stand for several kinds. */
export const POLICY_GROUPS = {
  docker: DOCKER_COMMAND_KINDS,
  docker_write: DOCKER_WRITE_COMMAND_KINDS,
  /** Issue #18: deploy, update and remove containers; off unless listed (see OPT_IN_KINDS). */
  'docker.deploy': DOCKER_DEPLOY_COMMAND_KINDS,
  'docker.images': DOCKER_IMAGE_COMMAND_KINDS,
  /** Updates from the hub (#15): `agent_update`. */
  update: ['agent_update'],
} as const satisfies Record<string, readonly CommandKind[]>;
const POLICY_GROUP_NAMES = ['docker', 'docker_write', 'docker.deploy', 'docker.images', 'update'] as const satisfies ReadonlyArray<keyof typeof POLICY_GROUPS>;

/**
 * Issue #18: kinds that create, replace or remove containers stay off unless the machine's policy
 * allows them (`docker.deploy`, the kind names, or "*"): with no policy file they are refused.
 */
const OPT_IN_KINDS: ReadonlySet<string> = new Set(DOCKER_DEPLOY_COMMAND_KINDS);

/** Service checks that run a plugin (issue #19): off unless the policy names this entry ("*" does not imply it). */
export const COMMAND_CHECKS_POLICY = 'checks.command';

/** Default file name of the policy, inside the state dir. */
export const POLICY_FILE_NAME = 'policy.json';

/**
 * `<state>/policy.json`: the remote commands this machine allows. It lives on the machine and
 * only its administrator changes it; the hub cannot. No file means every command is allowed
 * (except `docker.deploy`, issue #18);
 * a file allows only the kinds it lists (`"*"` for all), so `{ "allow": [] }` refuses
 * everything, including kinds added by later versions.
 */
export const PolicyFileSchema = z
  .object({
    allow: z
      .array(z.enum([...POLICY_KINDS, ...POLICY_GROUP_NAMES, COMMAND_CHECKS_POLICY, '*']))
      .describe('Command kinds this agent runs; "*" for all; `docker` for every Docker kind, `docker_write` for restart/stop/start; `checks.command` lets service checks run plugins (never implied by "*")'),
  })
  .strict();
export type PolicyFile = z.infer<typeof PolicyFileSchema>;

/** The policy in force for one command. */
export interface Policy {
  /** Where it came from, for logs: a file path, or "default". */
  readonly source: string;
  allows(kind: PolicyKind): boolean;
}

export function policyFilePath(stateDir: string, override: string | undefined): string {
  return override ?? path.join(stateDir, POLICY_FILE_NAME);
}

/**
 * Reads the policy. Read for every command, so a change (or `farol-agent policy lock`) takes
 * effect without a restart. A file that cannot be read or parsed refuses everything: an
 * administrator who wrote a policy meant to restrict something.
 */
export function loadPolicy(file: string): Policy | { error: string } {
  if (!existsSync(file)) return { source: 'default (no policy file: every command but docker.deploy is allowed)', allows: (kind) => !OPT_IN_KINDS.has(kind) };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { error: `the agent policy ${file} cannot be read (${(error as Error).message}); every command is refused until it is fixed` };
  }
  const parsed = PolicyFileSchema.safeParse(raw);
  if (!parsed.success) {
    return { error: `the agent policy ${file} is invalid (${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}); every command is refused until it is fixed` };
  }
  const allowed = new Set<string>(parsed.data.allow.flatMap((entry) => (entry in POLICY_GROUPS ? [...POLICY_GROUPS[entry as keyof typeof POLICY_GROUPS]] : [entry])));
  return { source: file, allows: (kind) => allowed.has('*') || allowed.has(kind) };
}

/** Writes the policy file (mode 0600), e.g. `{ "allow": [] }` for `farol-agent policy lock`. */
export function writePolicy(file: string, policy: PolicyFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writePrivateFileAtomic(file, `${JSON.stringify(PolicyFileSchema.parse(policy), null, 2)}\n`);
}
