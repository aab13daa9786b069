import { spawn, spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { StartupError } from '../shared/startup.js';

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

/** The URL without its password, for messages. */
const shown = (u: URL) => (u.password ? u.href.replace(`:${u.password}@`, ':***@') : u.href);

const hasRedisServer = () => spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;

function target(url: string): { u: URL; host: string; port: number; bind: string } {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  const bind = host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, '');
  return { u, host, port, bind };
}

/**
 * Used by `npm test` on a fresh machine: if nothing answers at a local REDIS_URL, start a
 * daemonized redis-server (no persistence) if one is installed, else say how to get one.
 */
export async function ensureRedis(url: string, log: (msg: string) => void = console.log): Promise<void> {
  const { host, port, bind } = target(url);
  if (await answers(host, port)) return;
  if (!LOCAL.has(host)) throw new Error(`Redis at ${url} does not answer`);
  if (!hasRedisServer()) {
    throw new Error(
      `Redis at ${url} does not answer and redis-server is not installed. ` +
        'Install it (Debian/Ubuntu: `apt-get install -y redis-server`) or set REDIS_URL.',
    );
  }
  log(`redis: nothing answers at ${host}:${port}; starting a local redis-server`);
  spawnSync(
    'redis-server',
    ['--daemonize', 'yes', '--port', String(port), '--bind', bind, '--save', '', '--appendonly', 'no'],
    { stdio: 'inherit' },
  );
  for (let i = 0; i < 50; i++) {
    if (await answers(host, port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`started redis-server but ${host}:${port} still does not answer`);
}

/** A redis-server this process started and owns: it is killed when the process exits. */
export interface OwnRedis {
  pid: number;
  stop(): void;
}

/**
 * `npm start`'s Redis. A REDIS_URL the operator set is theirs: if it does not answer, that is
 * one clear start-up error (it used to start a throw-away redis-server in its place, which
 * outlived Shelia). Only with REDIS_URL unset (`useLocal`) and nothing answering at the default
 * is a local redis-server started (no persistence), as a child of this process: killed on exit,
 * whatever the cause (after a SIGTERM/SIGINT drain, process.exit, an uncaught error). A SIGKILL
 * of this process cannot be caught and leaves it running.
 * Resolves to the child it started, or undefined when Redis was already there.
 */
export async function redisForStart(
  url: string,
  useLocal: boolean,
  log: (msg: string) => void,
): Promise<OwnRedis | undefined> {
  const { u, host, port, bind } = target(url);
  if (await answers(host, port)) return undefined;
  if (!useLocal) {
    throw new StartupError(
      `Redis at ${shown(u)} (REDIS_URL) does not answer: start it or fix REDIS_URL, or unset REDIS_URL to let npm start run a local redis-server`,
    );
  }
  if (!hasRedisServer()) {
    throw new StartupError(
      `no Redis answers at ${shown(u)} and redis-server is not installed: install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_URL`,
    );
  }
  log(`redis: nothing answers at ${host}:${port}; starting a local redis-server (stopped with Shelia)`);
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', bind, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  // 'exit' handlers run synchronously on every way out but SIGKILL; kill() is synchronous.
  process.once('exit', stop);
  const died = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code, signal) => resolve(`exited (${signal ?? code})`));
  });
  for (let i = 0; i < 50; i++) {
    const early = await Promise.race([died, new Promise((r) => setTimeout(() => r(undefined), 100))]);
    if (typeof early === 'string')
      throw new StartupError(`the local redis-server on ${host}:${port} ${early}`);
    if (await answers(host, port)) return { pid: child.pid ?? 0, stop };
  }
  stop();
  throw new StartupError(`started a local redis-server but ${host}:${port} does not answer`);
}
