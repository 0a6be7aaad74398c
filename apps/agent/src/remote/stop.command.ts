import { EXIT_CODES } from '../runtime/exit-error.js';
import { serviceManager } from './restart.command.js';

/** What `stop` will do on this machine, as the command's output says it. */
export function describeStop(env: NodeJS.ProcessEnv): string {
  const manager = serviceManager(env);
  return manager
    ? `stopping: exiting with code ${EXIT_CODES.stopRequested}, which tells ${manager} not to restart the agent (systemd units from install.sh: RestartPreventExitStatus=${EXIT_CODES.stopRequested})`
    : 'stopping';
}
