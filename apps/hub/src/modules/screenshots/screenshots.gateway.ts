import type { agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { ScreenshotsService } from './screenshots.service.js';

type ScreenshotEvents = Pick<typeof agentToHubEvents, 'screenshot:upload'>;

/** The /agent event of screenshot uploads, for one connection; the agent is the one proven at connect. */
export function screenshotsAgentHandlers(screenshots: ScreenshotsService, agentId: string, heard: () => void): EventHandlersOf<ScreenshotEvents> {
  return {
    'screenshot:upload': async (chunk) => {
      heard();
      return screenshots.upload(agentId, chunk);
    },
  };
}
