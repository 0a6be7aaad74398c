import { TerminalSessionListSchema, type TerminalSessionList, type TerminalSessionListQuery } from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/** Past terminal sessions of a hub and their recordings (issue #3). Every method throws FarolApiError on failure. */
export interface TerminalSessionsClient {
  listSessions(query?: TerminalSessionListQuery): Promise<TerminalSessionList>;
  /** The asciicast v2 file of a recorded session (`application/x-asciicast`). */
  downloadRecording(id: string): Promise<Blob>;
}

export function createTerminalSessionsClient(options: FarolClientOptions): TerminalSessionsClient {
  const { request, send, readBody } = createTransport(options);
  return {
    listSessions: (query = {}) => request({ method: 'GET', path: '/api/terminal/sessions', query: { agent: query.agent, limit: query.limit }, schema: TerminalSessionListSchema }),
    async downloadRecording(id) {
      const response = await send({ method: 'GET', path: `/api/terminal/sessions/${segment(id)}/recording`, accept: 'application/x-asciicast, */*' });
      return readBody(response, (answer) => answer.blob());
    },
  };
}
