/**
 * A redis-server of the test's own, on a free loopback port, with no persistence: a test may
 * freeze it (SIGSTOP, what a stuck host or a network partition looks like to clients) without
 * touching the shared Redis on 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './service.js';

/** A redis-server on loopback that keeps nothing on disk and logs only warnings. */
export const EPHEMERAL_SERVER_ARGS = [
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
  '--loglevel',
  'warning',
];

export interface PrivateRedis {
  url: string;
  pid: number;
  /** SIGSTOP: the server keeps its sockets (the kernel still accepts) but answers nothing. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), ...EPHEMERAL_SERVER_ARGS], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  probe.on('error', () => undefined);
  try {
    await waitFor(
      () =>
        probe.ping().then(
          (v) => v === 'PONG',
          () => false,
        ),
      'the private redis-server to answer',
      10_000,
    );
  } finally {
    probe.disconnect();
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('redis-server did not start');
  const signal = (s: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, s);
  };
  return {
    url,
    pid,
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    async stop() {
      signal('SIGCONT');
      signal('SIGKILL');
      await exited;
    },
  };
}
