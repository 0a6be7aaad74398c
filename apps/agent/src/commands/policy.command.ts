import type { AgentConfig } from '../config.js';
import { loadPolicy, policyFilePath, PolicyFileSchema, POLICY_KINDS, writePolicy } from '../remote/policy.schema.js';
import { AgentExitError, EXIT_CODES } from '../runtime/exit-error.js';
import type { CommandContext } from './context.js';

/** `farol-agent policy show`: what this machine allows, and from which file. */
export function showPolicy(config: AgentConfig, context: CommandContext): void {
  const file = policyFilePath(config.stateDir, config.policyFile);
  const policy = loadPolicy(file);
  if ('error' in policy) throw new AgentExitError(policy.error, EXIT_CODES.failure);
  const allowed = POLICY_KINDS.filter((kind) => policy.allows(kind));
  context.stdout.write(`policy: ${policy.source}\nallowed: ${allowed.length > 0 ? allowed.join(', ') : 'nothing (every remote command is refused)'}\n`);
}

/** `farol-agent policy lock` / `allow KINDS...`: writes the policy file (it applies to the next command, no restart). */
export function writePolicyCommand(config: AgentConfig, kinds: string[], context: CommandContext): void {
  const parsed = PolicyFileSchema.safeParse({ allow: kinds });
  if (!parsed.success) {
    throw new AgentExitError(`unknown command kind in ${kinds.join(' ')}: use ${[...POLICY_KINDS, '*'].join(', ')}`, EXIT_CODES.usage);
  }
  const file = policyFilePath(config.stateDir, config.policyFile);
  writePolicy(file, parsed.data);
  context.stdout.write(`wrote ${file}: ${kinds.length === 0 ? 'every remote command is refused' : `allowed: ${kinds.join(', ')}`}\n`);
}
