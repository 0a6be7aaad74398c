import { DurationSchema, type JoinTokenCreated } from '@farol/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import { connect, isLoopbackUrl } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatLabels, formatRelative, formatTimestamp, plural } from '../output/format.js';
import { collectLabel, connectionOptionsOf, labelsFrom, parsePositiveInteger, withConnectionOptions } from '../options.js';

interface CreateOptions {
  ttl?: string;
  uses?: number;
  label?: string[];
  note?: string;
}

/** The one-line commands that add a machine with a join token. */
export interface InstallCommands {
  unix: string;
  windows: string;
  checkout: string;
}

/** Builds the install lines for a hub and token, exactly as operators paste them. */
export function installCommands(hubUrl: string, token: string, commandName: string, hubKeyFingerprint?: string): InstallCommands {
  // ADR 0024: the pasted line pins the hub key; install.sh refuses an agent it did not sign.
  const pin = hubKeyFingerprint ? ` --hub-key ${shWord(hubKeyFingerprint)}` : '';
  return {
    unix: `curl -fsSL ${hubUrl}/install.sh | sh -s -- --token ${shWord(token)}${pin}`,
    windows: `& ([scriptblock]::Create((irm ${hubUrl}/install.ps1))) -Token ${powershellWord(token)}`,
    checkout: `${commandName} agent --hub ${hubUrl} --token ${shWord(token)}`,
  };
}

/** `farol join-tokens create`: a join token plus the commands that use it. */
export function createTokenCreateCommand(context: CliContext): Command {
  const command = new Command('create')
    .description('create a join token and print the commands that add a machine with it')
    .addOption(
      new Option('--ttl <duration>', 'how long it can be used: 90s, 30m, 24h, 7d (hub default 24h)').argParser((value) => {
        if (!DurationSchema.safeParse(value).success) throw new InvalidArgumentError('durations look like 90s, 30m, 24h or 7d');
        return value;
      }),
    )
    .option('--uses <n>', 'how many machines may enroll with it (hub default 1)', parsePositiveInteger)
    .option('--label <key=value>', 'label given to every machine that enrolls with it (repeatable)', collectLabel)
    .option('--note <text>', 'a reminder of what the token is for');
  withConnectionOptions(command).action(async (options: CreateOptions) => {
    const connection = connectionOptionsOf(command);
    const { client, hubUrl } = await connect(connection, context);
    const created = await client.createJoinToken({
      ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
      ...(options.uses === undefined ? {} : { uses: options.uses }),
      ...(options.label === undefined ? {} : { labels: labelsFrom(options.label) }),
      ...(options.note === undefined ? {} : { note: options.note }),
    });
    context.stdout(connection.json ? formatJson(created) : renderCreatedToken(created, hubUrl, context));
  });
  return command;
}

function renderCreatedToken(created: JoinTokenCreated, hubUrl: string, context: CliContext): string {
  const lines = installCommands(hubUrl, created.token, context.commandName, created.hubKeyFingerprint);
  const labels = Object.keys(created.labels).length ? `, labels ${formatLabels(created.labels)}` : '';
  const text = [
    `Join token ${created.id}: ${plural(created.maxUses, 'use')}, ` +
      `expires ${formatTimestamp(created.expiresAt)} (${formatRelative(created.expiresAt, context.now())})${labels}`,
    '',
    `  ${created.token}`,
    '',
    'Linux or macOS (pipe into "sudo sh" to install a system service):',
    `  ${lines.unix}`,
    '',
    'Windows (PowerShell as Administrator):',
    `  ${lines.windows}`,
    '',
    'From a Farol checkout:',
    `  ${lines.checkout}`,
  ];
  if (isLoopbackUrl(hubUrl)) {
    text.push('', `Note: ${hubUrl} only works on this machine; for other machines use an address they can reach (--hub).`);
  }
  text.push('', `The token is shown only now. ${context.commandName} join-tokens ls shows its uses; ${context.commandName} join-tokens revoke ${created.id} ends it.`);
  return `${text.join('\n')}\n`;
}

const PLAIN_WORD = /^[A-Za-z0-9._~+=:/-]+$/;

/** Quotes a word for sh when it holds anything beyond URL-safe characters. */
function shWord(text: string): string {
  return PLAIN_WORD.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Quotes a word for PowerShell when it holds anything beyond URL-safe characters. */
function powershellWord(text: string): string {
  return PLAIN_WORD.test(text) ? text : `'${text.replaceAll("'", "''")}'`;
}
