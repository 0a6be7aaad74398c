import type { Socket } from 'socket.io';
import { FarolError, type agentToHubEvents, type TerminalClosed, type TerminalOutput, type uiToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { Logger } from '../../infra/logger.js';
import type { OperatorChannel, TerminalOperator, TerminalService } from './terminal.service.js';
import type { AgentCaller } from '../agents/agent-caller.js';

type TerminalAgentEvents = Pick<typeof agentToHubEvents, 'terminal:opened' | 'terminal:output' | 'terminal:exit'>;
type TerminalUiEvents = Pick<typeof uiToHubEvents, 'terminal:open' | 'terminal:input' | 'terminal:resize' | 'terminal:close'>;

/** How long an operator may take to acknowledge a chunk before it counts as delivered anyway. */
const OPERATOR_ACK_TIMEOUT_MS = 60_000;

/** The operator's end of a session over a /ui socket. Output goes with an ack callback: flow control. */
export function operatorChannel(socket: Socket, logger: Logger): OperatorChannel {
  return {
    id: socket.id,
    output(payload: TerminalOutput, delivered) {
      socket.timeout(OPERATOR_ACK_TIMEOUT_MS).emit('terminal:output', payload, (error: Error | null) => {
        if (error) logger.debug({ sessionId: payload.sessionId, socketId: socket.id }, 'operator did not acknowledge terminal output in time');
        delivered();
      });
    },
    closed(payload: TerminalClosed) {
      socket.emit('terminal:closed', payload);
    },
  };
}

/** The operator of a /ui socket, as the auth guard left it on `socket.data`. */
function operatorOf(socket: Socket): TerminalOperator {
  const principal = (socket.data as { principal?: { id?: unknown; name?: unknown } } | undefined)?.principal;
  if (!principal || typeof principal.id !== 'string') throw new FarolError('unauthorized', 'no operator on this connection');
  return { id: principal.id, name: typeof principal.name === 'string' ? principal.name : principal.id };
}

/** The /ui events of terminals for one socket; the socket's sessions end when it closes. */
export function terminalUiHandlers(terminals: TerminalService, socket: Socket, logger: Logger): EventHandlersOf<TerminalUiEvents> {
  const channel = operatorChannel(socket, logger);
  socket.on('disconnect', () => {
    terminals.operatorGone(channel.id).catch((error: unknown) => logger.error({ err: error, socketId: socket.id }, 'ending the terminals of a closed connection failed'));
  });
  return {
    'terminal:open': (request) => terminals.open(operatorOf(socket), channel, request),
    'terminal:input': (input) => {
      terminals.input(channel, input);
      return {};
    },
    'terminal:resize': (resize) => {
      terminals.resize(channel, resize);
      return {};
    },
    'terminal:close': async ({ sessionId }) => {
      await terminals.close(channel, sessionId);
      return {};
    },
  };
}

/**
 * The /agent events of terminals, for one connection. `heard` checks the hello came first and
 * marks the agent alive; the agent is the one proven at connect, never a payload id.
 */
export function terminalAgentHandlers(terminals: TerminalService): EventHandlersOf<TerminalAgentEvents, AgentCaller> {
  return {
    'terminal:opened': async (opened, agent) => {
      agent.heard();
      await terminals.agentOpened(agent.id, opened);
      return {};
    },
    'terminal:output': async (output, agent) => {
      agent.heard();
      await terminals.agentOutput(agent.id, output);
      return {};
    },
    'terminal:exit': async (exit, agent) => {
      agent.heard();
      await terminals.agentExit(agent.id, exit);
      return {};
    },
  };
}
