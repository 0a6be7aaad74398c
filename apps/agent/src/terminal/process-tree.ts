import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

interface ProcessRow {
  pid: number;
  ppid: number;
  /** Session id (Linux); null where the platform does not say. */
  sid: number | null;
}

/** Every process of the machine with its parent (and session on Linux). */
function listProcesses(): ProcessRow[] {
  if (process.platform === 'linux') {
    const rows: ProcessRow[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      } catch (error) {
        // The process ended between the listing and the read: nothing to kill.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') continue;
        throw error;
      }
      // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      rows.push({ pid: Number(name), ppid: Number(fields[1]), sid: Number(fields[3]) });
    }
    return rows;
  }
  const text = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts.length === 2)
    .map(([pid, ppid]) => ({ pid: Number(pid), ppid: Number(ppid), sid: null }));
}

/**
 * The processes a terminal's shell started: its descendants, plus (Linux) everything still in
 * its session, which catches background jobs whose parent already exited. Taken *before* the
 * shell is killed: orphans are re-parented to init and could no longer be found by parent.
 * `descendants: false` once the shell has exited: its pid may then belong to someone else.
 */
export function terminalProcesses(shellPid: number, { descendants = true }: { descendants?: boolean } = {}): number[] {
  const rows = listProcesses();
  const found = new Set<number>();
  for (const row of rows) if (row.sid === shellPid && row.pid !== shellPid) found.add(row.pid);
  if (!descendants) return [...found];
  const children = new Map<number, number[]>();
  for (const row of rows) children.set(row.ppid, [...(children.get(row.ppid) ?? []), row.pid]);
  const queue = [shellPid];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    for (const child of children.get(pid) ?? []) {
      if (found.has(child)) continue;
      found.add(child);
      queue.push(child);
    }
  }
  return [...found];
}

/** Sends a signal (0: none, only a check) to each pid that still exists; returns those that did. */
export function signalAll(pids: Iterable<number>, signal: NodeJS.Signals | 0): number[] {
  const alive: number[] = [];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
      alive.push(pid);
    } catch (error) {
      // ESRCH: already gone, which is the goal. EPERM: not ours to kill (a setuid program).
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH' && (error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    }
  }
  return alive;
}

/** Windows: the whole tree of a pid, forcibly. */
export function killTreeWindows(pid: number, onError: (error: Error) => void): void {
  spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on('error', onError);
}
