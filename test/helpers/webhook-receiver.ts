/** A local webhook receiver for tests: records every request; its answer depends on the path. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  at: number;
  headers: Record<string, string>;
  body: string;
}

/** A receiver whose answer depends on the path: /ok, /flaky (500, 500, 200), /gone, /redirect, /hang. */
export async function startReceiver(): Promise<{
  url: (path: string) => string;
  got: (path: string) => Received[];
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      received.push({ path, at: Date.now(), headers, body });
      const seen = received.filter((r) => r.path === path).length;
      if (path.startsWith('/hang')) return; // never answers
      if (path.startsWith('/flaky')) res.writeHead(seen <= 2 ? 500 : 200).end();
      else if (path.startsWith('/gone')) res.writeHead(410).end();
      else if (path.startsWith('/redirect')) res.writeHead(302, { location: `${base()}/ok-target` }).end();
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path) => `${base()}${path}`,
    got: (path) => received.filter((r) => r.path === path),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
