import { FarolApiError } from '@farol/client';
import { FAROL_VERSION, type Permission, type Principal } from '@farol/protocol';
import type { McpServer, RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { MCP_TOOLS, type McpHubClients, type McpToolDefinition, type ToolOutcome } from './mcp-tools.js';

/** The part of the SDK the server needs, loaded by the caller (only `farol mcp` pays for it). */
export interface McpSdk {
  McpServer: typeof McpServer;
}

/** What the server says about itself to the assistant at `initialize`. */
function instructionsFor(me: Principal): string {
  return [
    `Farol: a fleet of machines managed by a Farol hub. You act as the user "${me.name}" (role ${me.role}${me.scope ? `, limited to machines matching ${me.scope}` : ''}).`,
    'Read tools: list_machines, show_machine, metric_history, list_alerts, list_jobs, show_job, list_audit (as the token allows).',
    'Action tools change machines or alerts; the hub checks permissions and label scope on every call, refuses with a message you should relay, and records each action in its audit log as coming through MCP.',
  ].join('\n');
}

/** The text of a failed hub call: the hub's own message, which says what was refused and why. */
export function describeFailure(error: unknown): string {
  if (error instanceof FarolApiError) {
    if (error.isNetworkFailure) return `cannot reach the Farol hub at ${error.hubUrl}: ${error.detail ?? 'network error'}`;
    if (error.code === 'validation_failed' && error.issues?.length) {
      return `the hub rejected the request: ${error.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`;
    }
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export interface FarolMcpServer {
  server: McpServer;
  /** Names of the tools listed now. */
  listedTools(): string[];
  /** Asks the hub again what the token may do and lists the tools to match (after a 401/403). */
  refreshPermissions(): Promise<void>;
}

/**
 * Builds the MCP server of `farol mcp`: every tool of {@link MCP_TOOLS} is registered, and those
 * the token's permissions (GET /api/me) do not cover are disabled, so the assistant is not
 * offered them. When the hub refuses a call (403, or 401 for a revoked token) the permissions are
 * read again and the list follows: a role changed while the server runs shows up at once.
 */
export function createFarolMcpServer({ sdk, clients, me, warn }: { sdk: McpSdk; clients: McpHubClients; me: Principal; warn: (line: string) => void }): FarolMcpServer {
  const server = new sdk.McpServer({ name: 'farol', title: 'Farol', version: FAROL_VERSION }, { instructions: instructionsFor(me), capabilities: { tools: { listChanged: true } } });
  const registered = new Map<string, { tool: McpToolDefinition; handle: RegisteredTool }>();
  let permissions: readonly Permission[] = me.permissions;

  const allowed = (tool: McpToolDefinition): boolean => tool.permissions.every((p) => permissions.includes(p));
  const sync = (): void => {
    for (const { tool, handle } of registered.values()) {
      if (allowed(tool) !== handle.enabled) {
        if (allowed(tool)) handle.enable();
        else handle.disable();
      }
    }
  };

  async function refreshPermissions(): Promise<void> {
    try {
      permissions = (await clients.farol.me()).permissions;
    } catch (error) {
      // A revoked or expired token answers 401 here too: nothing it may use is left.
      if (error instanceof FarolApiError && error.isAuthFailure) permissions = [];
      else throw error;
    }
    sync();
  }

  async function call(tool: McpToolDefinition, input: unknown): Promise<ToolOutcome> {
    try {
      return await tool.run(input as never, clients);
    } catch (error) {
      if (error instanceof FarolApiError && (error.status === 401 || error.status === 403)) {
        await refreshPermissions().catch((refreshError: unknown) => warn(`cannot re-read the token's permissions: ${describeFailure(refreshError)}`));
      }
      return { text: describeFailure(error), isError: true };
    }
  }

  for (const tool of MCP_TOOLS) {
    const handle = server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: z.object(tool.input).strict(),
        annotations: { title: tool.title, readOnlyHint: !tool.isAction, destructiveHint: tool.isAction, openWorldHint: false },
      },
      async (input: unknown) => {
        const outcome = await call(tool, input);
        return { content: [{ type: 'text' as const, text: outcome.text }], ...(outcome.isError ? { isError: true } : {}) };
      },
    );
    registered.set(tool.name, { tool, handle });
  }
  sync();

  return {
    server,
    listedTools: () => [...registered.values()].filter(({ handle }) => handle.enabled).map(({ tool }) => tool.name),
    refreshPermissions,
  };
}
