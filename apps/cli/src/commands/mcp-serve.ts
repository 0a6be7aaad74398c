import { createAlertsClient, createContainersClient, createFarolClient, FarolApiError, type FarolClientOptions } from '@farol/client';
import { CLIENT_HEADER, type ClientLabel } from '@farol/protocol';
import { Command } from 'commander';
import { CliError, explainApiError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { createFarolMcpServer, type McpSdk } from '../mcp/mcp-server.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

const MCP_CLIENT: ClientLabel = 'mcp';

/** How `farol mcp` talks over stdio; tests of the command substitute streams. */
export interface McpStdio {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
}

/**
 * `farol mcp`: a Model Context Protocol server on stdin/stdout for AI assistants (issue #20).
 * It acts with the CLI's connection (FAROL_HUB_URL / FAROL_TOKEN or the saved login), tags every
 * request with X-Farol-Client: mcp so the hub's audit log says where an action came from, and
 * ends when the assistant closes stdin. stdout carries only MCP messages; notes go to stderr.
 */
export function createMcpCommand(context: CliContext, stdio: () => McpStdio = () => ({ stdin: process.stdin, stdout: process.stdout })): Command {
  const command = new Command('mcp')
    .description('a Model Context Protocol server on stdio for AI assistants: the fleet, history, alerts, jobs and audit as tools, and actions as far as your token allows')
    .addHelpText(
      'after',
      `
Configure it in an assistant as a stdio server, e.g.:
  { "command": "farol", "args": ["mcp"], "env": { "FAROL_HUB_URL": "https://hub:8080", "FAROL_TOKEN": "fat_…" } }
Use a token made for it (farol api-tokens create assistant --permission nodes:read ...): the
assistant can do what the token can, and the hub audits each action as coming through MCP.`,
    );
  withConnectionOptions(command, { json: false }).action(async () => {
    const { hubUrl, token } = await connect(connectionOptionsOf(command), context);
    const options: FarolClientOptions = { baseUrl: hubUrl, token, fetch: context.fetch, headers: () => ({ [CLIENT_HEADER]: MCP_CLIENT }) };
    const clients = { farol: createFarolClient(options), alerts: createAlertsClient(options), containers: createContainersClient(options) };
    let me;
    try {
      me = await clients.farol.me();
    } catch (error) {
      if (error instanceof FarolApiError) throw new CliError(explainApiError(error, context), { cause: error });
      throw error;
    }
    // Loaded here so that no other command pays for the SDK.
    const [{ McpServer }, { StdioServerTransport }] = await Promise.all([import('@modelcontextprotocol/sdk/server/mcp.js'), import('@modelcontextprotocol/sdk/server/stdio.js')]);
    const sdk: McpSdk = { McpServer };
    const warn = (line: string): void => context.stderr(`farol mcp: ${line}\n`);
    const { server, listedTools } = createFarolMcpServer({ sdk, clients, me, warn });
    const { stdin, stdout } = stdio();
    const transport = new StdioServerTransport(stdin as NodeJS.ReadStream, stdout as NodeJS.WriteStream);
    const closed = new Promise<void>((resolve) => {
      transport.onclose = () => resolve();
    });
    await server.connect(transport);
    context.stderr(`farol mcp: serving ${hubUrl} as ${me.name} (${me.role}${me.scope ? `, ${me.scope}` : ''}); tools: ${listedTools().join(', ') || 'none'}\n`);
    // The assistant ends the session by closing stdin (the MCP stdio transport has no goodbye).
    const close = (): void => void server.close().catch((error: unknown) => warn(`closing: ${(error as Error).message}`));
    stdin.once('end', close);
    const stopListening = context.onShutdownSignal(close);
    await closed;
    stopListening();
    context.ensureExit(0);
  });
  return command;
}
