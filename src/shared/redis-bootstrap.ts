import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port, timeout: 1000 });
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      // -NOAUTH still means a Redis is there; the client will authenticate.
      resolve(/^(\+PONG|-NOAUTH)/.test(d.toString()));
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/**
 * Used by `npm start` and `npm test` on a fresh machine: if nothing answers at a local
 * REDIS_URL, start a redis-server (no persistence) if one is installed, else say how to get one.
 */
export async function ensureRedis(url: string, log: (msg: string) => void = console.log): Promise<void> {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  if (await answers(host, port)) return;
  if (!LOCAL.has(host)) throw new Error(`Redis at ${url} does not answer`);
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) {
    throw new Error(
      `Redis at ${url} does not answer and redis-server is not installed. ` +
        'Install it (Debian/Ubuntu: `apt-get install -y redis-server`) or set REDIS_URL.',
    );
  }
  log(`redis: nothing answers at ${host}:${port}; starting a local redis-server`);
  const bind = host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, '');
  spawnSync(
    'redis-server',
    ['--daemonize', 'yes', '--port', String(port), '--bind', bind, '--save', '', '--appendonly', 'no'],
    {
      stdio: 'inherit',
    },
  );
  for (let i = 0; i < 50; i++) {
    if (await answers(host, port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`started redis-server but ${host}:${port} still does not answer`);
}
