// Redis is required by tests and by `npm start`. If nothing answers at REDIS_URL and the URL is
// local, start a redis-server (if installed) with no persistence; otherwise say how to get one.
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';

function answers(host, port) {
  return new Promise((resolve) => {
    const s = createConnection({ host, port, timeout: 1000 });
    s.once('connect', () => {
      s.write('PING\r\n');
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH'));
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

export async function ensureRedis(url) {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  if (await answers(host, port)) return;
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new Error(`Redis at ${url} does not answer`);
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-server']);
  if (which.status !== 0) {
    throw new Error(
      `Redis at ${url} does not answer and redis-server is not installed. ` +
        'Install it (Debian/Ubuntu: `apt-get install -y redis-server`) or set REDIS_URL.',
    );
  }
  console.log(`redis: nothing answers at ${host}:${port}; starting a local redis-server`);
  spawnSync(
    'redis-server',
    ['--daemonize', 'yes', '--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no'],
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
