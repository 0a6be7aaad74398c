import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A server on 127.0.0.1 that the install scripts take for the hub, and the URL it answers on. */
export interface StandInHub {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a stand-in hub on a free port of 127.0.0.1: plain HTTP, or HTTPS with `tls`. `handle`
 * answers every request and is given the hub's own URL, which the served install.sh carries.
 */
export async function startStandInHub(
  handle: (req: IncomingMessage, res: ServerResponse, url: string) => void,
  tls?: { cert: Buffer; key: Buffer },
): Promise<StandInHub> {
  let url = '';
  const listener = (req: IncomingMessage, res: ServerResponse) => handle(req, res, url);
  const server = tls ? createHttpsServer(tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
