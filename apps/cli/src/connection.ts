import { createFarolClient, normalizeBaseUrl, type FarolClient, type FarolClientOptions } from '@farol/client';
import { CliError, UsageError, loginHint } from './cli-error.js';
import { configFilePath, readConfigFile } from './config-file.js';
import type { CliContext } from './context.js';

/** Where `farol` looks for a hub when nothing says otherwise (the default of `farol hub`). */
export const DEFAULT_HUB_URL = 'http://127.0.0.1:8080';

/** The options every command that talks to a hub accepts. */
export interface ConnectionOptions {
  hub?: string;
  token?: string;
  json?: boolean;
}

/** A hub URL and the token to use with it, and where each came from. */
export interface Connection {
  hubUrl: string;
  token: string | undefined;
}

/**
 * Resolves the hub URL and token: flags, then FAROL_HUB_URL / FAROL_TOKEN, then the file written
 * by `farol login`. The saved token is only sent to the hub it was saved for, so pointing
 * `--hub` somewhere else never leaks it.
 */
export async function resolveConnection(options: ConnectionOptions, context: CliContext): Promise<Connection> {
  const flagOrEnvHub = options.hub ?? nonEmpty(context.env.FAROL_HUB_URL);
  const flagOrEnvToken = options.token ?? nonEmpty(context.env.FAROL_TOKEN);
  const needsFile = flagOrEnvHub === undefined || flagOrEnvToken === undefined;
  const saved = needsFile ? await readConfigFile(configFilePath(context)) : null;

  const hubUrl = parseHubUrl(flagOrEnvHub ?? saved?.hubUrl ?? DEFAULT_HUB_URL);
  const savedTokenFits = saved !== null && normalizeBaseUrl(saved.hubUrl) === hubUrl;
  return { hubUrl, token: flagOrEnvToken ?? (savedTokenFits ? saved.token : undefined) };
}

/** Resolves the connection and builds a client; fails with a hint when there is no token. */
export async function connect(options: ConnectionOptions, context: CliContext): Promise<{ client: FarolClient; hubUrl: string; token: string }> {
  const { hubUrl, token } = await resolveConnection(options, context);
  if (!token) {
    throw new CliError(`no token for the hub at ${hubUrl}; run ${loginHint(context, hubUrl)} (or set FAROL_TOKEN)`);
  }
  return { client: createFarolClient({ baseUrl: hubUrl, token, fetch: context.fetch }), hubUrl, token };
}

/**
 * Resolves the connection like {@link connect} and builds one feature client with it, e.g.
 * `await connectTo(options, context, createAlertsClient)`.
 */
export async function connectTo<T>(options: ConnectionOptions, context: CliContext, create: (client: FarolClientOptions) => T, extra: Pick<FarolClientOptions, 'headers'> = {}): Promise<T> {
  const { hubUrl, token } = await connect(options, context);
  return create({ baseUrl: hubUrl, token, fetch: context.fetch, ...extra });
}

/**
 * Account-security changes made with an API token prove the owner's password again (issue #11):
 * FAROL_PASSWORD, when set, goes with the request as X-Farol-Password (never on the command line).
 */
export function passwordProof(context: CliContext): Pick<FarolClientOptions, 'headers'> {
  const password = context.env.FAROL_PASSWORD;
  return password ? { headers: () => ({ 'x-farol-password': password }) } : {};
}

/** Checks that a hub URL is http(s) and returns it without trailing slashes. */
export function parseHubUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new UsageError(`"${text}" is not a URL; give the hub as http://HOST:PORT`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`"${text}" is not an http(s) URL; give the hub as http://HOST:PORT`);
  }
  return normalizeBaseUrl(text);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** True when the hub URL names this machine only (so other machines cannot use it). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
}
