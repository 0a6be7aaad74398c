import { MAX_PROCESS_LIST } from '@farol/protocol';
import type { Collector } from '../collectors/collector.js';
import type { ProcessesReading } from '../collectors/processes.collector.js';
import { sleep } from '../runtime/clock.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from './remote-command.js';

/** Per-process CPU is measured over this window. */
export const PROCESSES_WINDOW_MS = 500;
/** The list stays well under the hub's 1 MB message limit, beside 128 KiB of output at most. */
const MAX_LIST_BYTES = 640 * 1024;
const COMMAND_CHARS = 256;

/** `processes`: every process (or the top N), by CPU or resident memory. */
export async function runProcessesCommand(
  command: { top?: number | undefined; sortBy?: 'cpu' | 'memory' | undefined },
  createCollector: (top: number) => Collector<ProcessesReading>,
  context: RemoteCommandContext,
): Promise<RemoteOutcome> {
  const startedAt = context.clock.now();
  const sortBy = command.sortBy ?? 'cpu';
  const collector = createCollector(command.top ?? MAX_PROCESS_LIST);
  await collector.collect();
  await sleep(PROCESSES_WINDOW_MS, context.signal);
  if (context.signal.aborted) return plainOutcome({ state: 'cancelled', startedAt, endedAt: context.clock.now(), error: 'cancelled' });
  const reading = await collector.collect();
  const processes = (sortBy === 'cpu' ? reading.topCpu : reading.topMemory).map((p) => (p.command && p.command.length > COMMAND_CHARS ? { ...p, command: p.command.slice(0, COMMAND_CHARS) } : p));
  // Least busy last: those go first when the list is too large for one message.
  let bytes = JSON.stringify(processes).length;
  while (bytes > MAX_LIST_BYTES && processes.length > 0) bytes -= JSON.stringify(processes.pop()).length + 1;
  return plainOutcome({
    state: 'succeeded',
    exitCode: 0,
    startedAt,
    endedAt: context.clock.now(),
    data: { kind: 'processes', total: reading.count ?? processes.length, sortBy, processes },
  });
}
