import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { CLIENT_HEADER, CLIENT_LABELS, type ClientLabel, type Principal } from '@farol/protocol';

/** Which credential acted: `session`, or the API token's id (`tok_…`). */
export function viaOf(principal: Principal): string {
  return principal.via === 'session' ? 'session' : (principal.tokenId ?? 'token');
}

interface ActorStore {
  actor: string | null;
  via: string | null;
  /** What kind of client sent the request (X-Farol-Client), when it is one the hub knows. */
  client: ClientLabel | null;
}

/** `X-Farol-Client: mcp` → `mcp`; anything else (absent, unknown, repeated) → null. */
export function clientOf(header: string | string[] | undefined): ClientLabel | null {
  return typeof header === 'string' && (CLIENT_LABELS as readonly string[]).includes(header) ? (header as ClientLabel) : null;
}

/**
 * Which credential each HTTP request acts through, so every audit entry a request writes says
 * `via: tok_…` or `via: session` (issue #11) without every service passing it along. One
 * AsyncLocalStorage per hub, entered per request; nothing is shared between requests, and
 * nothing outlives one (several hubs: nothing to share).
 */
export function createRequestActors() {
  const storage = new AsyncLocalStorage<ActorStore>();
  const resumers = new WeakMap<FastifyRequest, AsyncResource>();
  return {
    /** onRequest, callback style: every later hook and the handler run inside the request's store. */
    enter(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
      storage.run({ actor: null, via: null, client: clientOf(request.headers[CLIENT_HEADER]) }, () => {
        resumers.set(request, new AsyncResource('farol-request-actor'));
        done();
      });
    },
    /** preValidation: the body arrives on stream events outside the store; re-enter it. */
    resume(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
      const resumer = resumers.get(request);
      if (resumer) resumer.runInAsyncScope(done);
      else done();
    },
    /** Once the request is authenticated. */
    set(principal: Principal): void {
      const store = storage.getStore();
      if (!store) return;
      store.actor = principal.name;
      store.via = viaOf(principal);
    },
    /** The credential of the current request, when `actor` is who that request authenticated as. */
    viaFor(actor: string): string | null {
      const store = storage.getStore();
      return store && store.actor === actor ? store.via : null;
    },
    /** Runs `work` as `actor` acting through something other than a credential: `telegram` (issue #20). */
    runVia<T>(actor: string, via: string, work: () => T): T {
      return storage.run({ actor, via, client: null }, work);
    },
    /**
     * The client label of the current request (`mcp`), when `actor` is who that request
     * authenticated as. A label only: the credential's permissions decide what it may do.
     */
    clientFor(actor: string): ClientLabel | null {
      const store = storage.getStore();
      return store && store.actor === actor ? store.client : null;
    },
    /** Runs `work` as `principal` (a socket event, a test). */
    runAs<T>(principal: Principal, work: () => T): T {
      return storage.run({ actor: principal.name, via: viaOf(principal), client: null }, work);
    },
  };
}
export type RequestActors = ReturnType<typeof createRequestActors>;
