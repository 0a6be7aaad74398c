import { createAlertsClient } from '@farol/client';
import { parseDuration, parseLabelSelector, type SilenceMatcher } from '@farol/protocol';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatTimestamp } from '../output/format.js';
import { collect, connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol silence add`: alerts of some machines or rules are tracked but not sent for a while. */
export function createSilenceAddCommand(context: CliContext): Command {
  const command = new Command('add')
    .description('silence alerts for a time window (they are still tracked, not sent)')
    .option('--agent <name>', 'a machine (name or id); repeat for several', collect)
    .option('--selector <labels>', 'machines by label, e.g. role=gpu,env!=dev')
    .option('--rule <name>', 'a rule (name or id); repeat for several', collect)
    .option('--all', 'every alert (a fleet-wide maintenance window)')
    .option('--for <duration>', 'how long, e.g. 30m, 2h, 1d')
    .option('--until <time>', 'when it ends (ISO 8601, e.g. 2026-11-24T06:00Z)')
    .requiredOption('--reason <text>', 'why (recorded with your name)');
  withConnectionOptions(command).action(
    async (options: { agent?: string[]; selector?: string; rule?: string[]; all?: boolean; for?: string; until?: string; reason: string }) => {
      const matcher: SilenceMatcher = {};
      if (options.agent) matcher.agents = options.agent;
      if (options.rule) matcher.rules = options.rule;
      if (options.all) matcher.all = true;
      if (options.selector) {
        try {
          parseLabelSelector(options.selector);
        } catch (error) {
          throw new CliError(`--selector: ${(error as Error).message}`);
        }
        matcher.selector = options.selector;
      }
      if (Object.keys(matcher).length === 0) throw new CliError('say what to silence: --agent, --selector, --rule or --all');
      if ((options.for === undefined) === (options.until === undefined)) throw new CliError('give how long with --for 2h, or the end with --until 2026-11-24T06:00Z');
      let window: { duration: number } | { endsAt: number };
      if (options.for !== undefined) {
        try {
          window = { duration: parseDuration(options.for) };
        } catch {
          throw new CliError(`--for ${options.for}: use a duration such as 30m, 2h or 1d`);
        }
      } else {
        const endsAt = Date.parse(options.until!);
        if (Number.isNaN(endsAt)) throw new CliError(`--until ${options.until}: use an ISO 8601 time such as 2026-11-24T06:00Z`);
        window = { endsAt };
      }
      const connection = connectionOptionsOf(command);
      const client = await connectTo(connection, context, createAlertsClient);
      const silence = await client.createSilence({ matcher, reason: options.reason, ...window });
      context.stdout(connection.json ? formatJson(silence) : `${silence.id} silences until ${formatTimestamp(silence.endsAt)}\n`);
    },
  );
  return command;
}
