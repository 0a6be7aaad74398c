import { spawn } from 'node:child_process';

/**
 * The service manager running this agent, if any: systemd sets INVOCATION_ID, launchd sets
 * XPC_SERVICE_NAME (to "0" in a plain terminal session, which is not a service), and other
 * supervisors (`farol dev`, containers) set FAROL_SUPERVISED=1.
 */
export function serviceManager(env: NodeJS.ProcessEnv): string | null {
  if (env.FAROL_SUPERVISED === '1') return 'a supervisor (FAROL_SUPERVISED=1)';
  if (env.INVOCATION_ID) return 'systemd';
  if (env.XPC_SERVICE_NAME && env.XPC_SERVICE_NAME !== '0') return 'launchd';
  return null;
}

/** What `restart` will do on this machine, as the command's output says it. */
export function describeRestart(env: NodeJS.ProcessEnv): string {
  const manager = serviceManager(env);
  return manager ? `restarting: exiting for ${manager} to start the agent again` : 'restarting: starting a new agent process with the same arguments';
}

/**
 * Standalone restart: a new agent process with the same node flags and arguments, detached so
 * it outlives this one. Called after this agent released its state lock.
 */
export function reexecAgent(): number | undefined {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { detached: true, stdio: 'inherit', env: process.env });
  child.unref();
  return child.pid;
}
