import { Command } from 'commander';
import { ExitRequest } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol audit verify`: walks the hash chain; exits 1 and names the first bad entry when it was tampered with. */
export function createAuditVerifyCommand(context: CliContext): Command {
  const command = new Command('verify').description('check that no audit entry was changed or removed (exit 1 if one was)');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    const result = await client.verifyAudit();
    if (connection.json) context.stdout(formatJson(result));
    else if (result.ok) context.stdout(`audit log intact: ${result.entries} entries, every hash and link matches\n`);
    else context.stdout(`audit log TAMPERED at entry ${result.firstBad!.seq}: ${result.firstBad!.reason}\n`);
    if (!result.ok) throw new ExitRequest(1);
  });
  return command;
}
