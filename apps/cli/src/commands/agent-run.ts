import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { loadBundleExport, type AgentBundle } from '../bundles.js';
import { ExitRequest } from '../cli-error.js';
import type { CliContext } from '../context.js';

/**
 * `farol agent ...` and `farol simulate ...`: hand every argument, options included, to the
 * agent's own command parser, exactly as if the agent bundle had been run with them.
 */
export function createAgentCommands(context: CliContext): Command[] {
  const delegate = (name: string, description: string, prefix: string[]) => {
    const command = new Command(name)
      .description(description)
      .argument('[args...]', 'arguments for the agent (see farol agent --help)')
      .helpOption(false)
      .passThroughOptions()
      .allowUnknownOption()
      .allowExcessArguments();
    command.action(async (args: string[]) => {
      const runAgentCommand = await loadBundleExport<AgentBundle, 'runAgentCommand'>(context, context.bundles.agent, 'agent', 'runAgentCommand');
      // The agent parses a process-style argv: [node, script, ...arguments].
      const returned = await runAgentCommand([context.execPath, fileURLToPath(context.bundles.agent), ...prefix, ...args]);
      // The agent reports its outcome through process.exitCode (0 ok, 1 failure, 2 usage,
      // 3 refused by the hub); a returned number is accepted too.
      const code = typeof returned === 'number' ? returned : Number(process.exitCode ?? 0);
      // Like the agent's own entry point: a stray keep-alive socket must not hold the process.
      context.ensureExit(code);
      if (code !== 0) throw new ExitRequest(code);
    });
    return command;
  };
  return [
    delegate('agent', 'run the agent on this machine (enroll, run, status ...)', []),
    delegate('simulate', 'simulate many agents against a hub (for benchmarks)', ['simulate']),
  ];
}
