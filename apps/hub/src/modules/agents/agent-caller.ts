/**
 * The agent an event came from, as proven when it connected (never an id inside a payload).
 * The agent link builds its event handlers once for the namespace and passes each socket's
 * caller to them, so 10,000 connections do not each hold their own handler closures (issue #16).
 */
export interface AgentCaller {
  readonly id: string;
  readonly name: string;
  /**
   * Refuses the event unless the agent's hello has been answered, and counts it as heard from
   * (presence). Every handler calls it first.
   */
  heard(): void;
}
