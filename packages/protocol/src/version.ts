/**
 * Agent ↔ hub protocol versions. A hub speaks every version in [MIN, MAX]; an agent sends the
 * one it speaks in its handshake and is refused, with this range in the refusal, when outside.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_PROTOCOL_VERSION = 1;
export const MAX_PROTOCOL_VERSION = 1;

/** Largest socket message the hub accepts (bytes). Agents chunk backfill below it. */
export const MAX_MESSAGE_BYTES = 1_000_000;

/** Lifetime cap of an agent's connect token; the hub refuses longer-lived tokens. */
export const AGENT_TOKEN_MAX_LIFETIME_SECONDS = 60;

/** JWT audience for agent connect tokens and issuer for hub proofs. */
export const AGENT_TOKEN_AUDIENCE = 'farol-hub';
export const HUB_PROOF_ISSUER = 'farol-hub';

/** Farol's release version, injected at build time. */
export const FAROL_VERSION: string = __FAROL_VERSION__;

/**
 * Bad messages a socket may send within BAD_MESSAGE_WINDOW_MS before the hub disconnects it: an
 * unknown event, a payload that fails its schema, an event emitted without an ack callback, and
 * (on /agent) a `forbidden` answer to `command:*` or `screenshot:upload`. The limit is exceeded
 * at the 11th.
 */
export const MAX_BAD_MESSAGES = 10;
export const BAD_MESSAGE_WINDOW_MS = 60_000;
