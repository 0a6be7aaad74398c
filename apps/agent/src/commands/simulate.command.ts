import { createWriteStream, writeFileSync, type WriteStream } from 'node:fs';
import type { SimulateConfig } from '../config.js';
import { formatSummary, runSimulation } from '../simulate/simulator.service.js';
import { EXIT_CODES } from '../runtime/exit-error.js';
import { createCommandLogger, shutdownSignal, type CommandContext } from './context.js';

/** `farol-agent simulate`: N simulated agents against a hub; prints the summary. Returns the exit code. */
export async function simulateAgents(config: SimulateConfig, context: CommandContext): Promise<number> {
  const logger = createCommandLogger(context, config.logLevel);
  const shutdown = shutdownSignal(context);
  const linkLog: WriteStream | null = config.linkLog ? createWriteStream(config.linkLog, { flags: 'a' }) : null;
  linkLog?.on('error', (error) => logger.error({ err: error, file: config.linkLog }, 'cannot write the link log'));
  try {
    const summary = await runSimulation({
      hubUrl: config.hubUrl,
      ...(config.joinToken ? { joinToken: config.joinToken } : {}),
      agents: config.agents,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      stateDir: config.stateDir,
      ...(config.durationMs === undefined ? {} : { durationMs: config.durationMs }),
      connectConcurrency: config.connectConcurrency,
      clock: context.clock,
      random: context.random,
      logger,
      signal: shutdown.signal,
      ...(context.fetch ? { fetch: context.fetch } : {}),
      ...(linkLog ? { onLink: (event) => linkLog.write(`${JSON.stringify(event)}\n`) } : {}),
    });
    context.stderr.write(formatSummary(summary));
    if (config.reportJson) writeFileSync(config.reportJson, `${JSON.stringify(summary, null, 2)}\n`);
    return summary.heartbeats.acked > 0 || summary.heartbeats.sent === 0 ? EXIT_CODES.ok : EXIT_CODES.failure;
  } finally {
    if (linkLog) await new Promise<void>((resolve) => linkLog.end(resolve));
    shutdown.dispose();
  }
}
