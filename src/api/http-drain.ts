import type { ServerType } from '@hono/node-server';
import { Server, type ServerResponse } from 'node:http';

export type DrainResult = 'drained' | 'forced';

/**
 * A graceful stop for an HTTP server with a deadline. `server.close()` alone stops accepting
 * but leaves keep-alive connections open, and Node keeps serving requests on them: under
 * keep-alive load the API served for 31.8 s after SIGTERM (31,844 answers in 23 s in
 * test/e2e/api-shutdown.test.ts, until the test gave up). So once draining, every response not
 * yet started says `Connection: close` (the client opens no more requests on that socket),
 * idle sockets are closed at once and as answers finish, and whatever is still in flight after
 * the grace is cut.
 */
export function drainable(server: Server): (graceMs: number) => Promise<DrainResult> {
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  const closeWhenDone = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    if (draining) closeWhenDone(res);
    res.once('close', () => {
      inFlight.delete(res);
      // An answer that was already being sent when the drain began leaves its socket idle.
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
  });
  return async (graceMs) => {
    draining = true;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const res of inFlight) closeWhenDone(res);
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'forced'>((r) => (timer = setTimeout(() => r('forced'), graceMs)));
    const result = await Promise.race([closed.then(() => 'drained' as const), deadline]);
    clearTimeout(timer);
    if (result === 'forced') {
      server.closeAllConnections();
      await closed;
    }
    return result;
  };
}

/** The drain for the server @hono/node-server made (HTTP/1 here; HTTP/2 would get a plain close). */
export function drainerFor(server: ServerType): (graceMs: number) => Promise<DrainResult> {
  if (server instanceof Server) return drainable(server);
  return () => new Promise((r) => server.close(() => r('drained')));
}
