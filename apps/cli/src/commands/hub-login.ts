import { createAccountsClient, createFarolClient, FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError, UsageError } from '../cli-error.js';
import { configFilePath, writeConfigFile } from '../config-file.js';
import { DEFAULT_HUB_URL, parseHubUrl } from '../connection.js';
import type { CliContext } from '../context.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/**
 * `farol login`: with `--user NAME` (password from FAROL_PASSWORD), signs in and saves a new
 * API token of that user; with `--token T`, checks the token and saves it. Either way later
 * commands use the saved hub and token.
 */
export function createLoginCommand(context: CliContext): Command {
  const command = new Command('login')
    .description('sign in (--user, password in FAROL_PASSWORD) or check a token (--token), and save it for later commands')
    .option('--user <name>', 'username; the password is read from FAROL_PASSWORD')
    .option('--otp <code>', 'the code of your authenticator app, when two-factor sign-in is on');
  withConnectionOptions(command, { json: false }).action(async (flags: { user?: string; otp?: string }) => {
    const options = connectionOptionsOf(command);
    const hubUrl = parseHubUrl(options.hub ?? (context.env.FAROL_HUB_URL || DEFAULT_HUB_URL));
    let token = options.token ?? (context.env.FAROL_TOKEN || undefined);
    if (flags.user !== undefined) {
      const password = context.env.FAROL_PASSWORD;
      if (!password) throw new UsageError(`put the password in FAROL_PASSWORD: FAROL_PASSWORD=… ${context.commandName} login --user ${flags.user}`);
      try {
        const result = await createAccountsClient({ baseUrl: hubUrl, fetch: context.fetch }).login({
          username: flags.user,
          password,
          issue: 'token',
          tokenName: `farol login (${flags.user})`,
          ...(flags.otp === undefined ? {} : { otp: flags.otp }),
        });
        token = result.token!.token;
      } catch (error) {
        if (error instanceof FarolApiError && error.code === 'mfa_required') throw new CliError(`two-factor sign-in is on for ${flags.user}: add --otp CODE`, { cause: error });
        if (error instanceof FarolApiError && error.code === 'unauthorized') throw new CliError('wrong username or password', { cause: error });
        if (error instanceof FarolApiError && error.code === 'rate_limited') throw new CliError(`${error.message}`, { cause: error });
        throw error;
      }
    }
    if (!token) throw new UsageError(`sign in: ${context.commandName} login --hub ${hubUrl} --user NAME (password in FAROL_PASSWORD), or --token T`);

    const me = await createFarolClient({ baseUrl: hubUrl, token, fetch: context.fetch }).me();
    const file = configFilePath(context);
    await writeConfigFile(file, { hubUrl, token });
    context.stdout(`logged in to ${hubUrl} as ${me.name} (${me.role}); saved to ${file}\n`);
  });
  return command;
}
