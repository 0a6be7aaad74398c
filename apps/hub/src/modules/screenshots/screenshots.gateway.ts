import type { agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { ScreenshotsService } from './screenshots.service.js';
import type { AgentCaller } from '../agents/agent-caller.js';

type ScreenshotEvents = Pick<typeof agentToHubEvents, 'screenshot:upload'>;

/** The /agent event of screenshot uploads, for one connection; the agent is the one proven at connect. */
export function screenshotsAgentHandlers(screenshots: ScreenshotsService): EventHandlersOf<ScreenshotEvents, AgentCaller> {
  return {
    'screenshot:upload': async (chunk, agent) => {
      agent.heard();
      return screenshots.upload(agent.id, chunk);
    },
  };
}
