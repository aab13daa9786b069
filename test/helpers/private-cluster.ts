/**
 * A Redis Cluster of the test's own: three masters (no replicas) from Debian's redis-server on
 * free loopback ports, each in its own temporary directory (a cluster node writes its
 * nodes.conf there), the slots assigned by `redis-cli --cluster create`. stop() kills the
 * three by the PIDs it started and removes the directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './service.js';
import { EPHEMERAL_SERVER_ARGS } from './private-redis.js';

export interface PrivateCluster {
  /** One seed node's URL (REDIS_URL with REDIS_CLUSTER=true). */
  url: string;
  ports: number[];
  pids: number[];
  stop(): Promise<void>;
}

/** Why a cluster cannot be started here (no redis-server or redis-cli), or undefined. */
export function clusterUnavailable(): string | undefined {
  for (const bin of ['redis-server', 'redis-cli']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is not installed`;
  }
  return undefined;
}

export async function startPrivateCluster(masters = 3): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'shelia-cluster-'));
  const ports: number[] = [];
  // freePort lets each port go before returning: take them one by one, never the same twice.
  while (ports.length < masters) {
    const p = await freePort();
    // The cluster bus listens on port + 10000: keep both in range and distinct.
    if (p + 10_000 <= 65_535 && !ports.includes(p)) ports.push(p);
  }
  const children: ChildProcess[] = [];
  const exited: Promise<void>[] = [];
  const stop = async () => {
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    await Promise.all(exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '5000',
          '--dir',
          dir,
          ...EPHEMERAL_SERVER_ARGS,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      children.push(child);
      exited.push(new Promise<void>((r) => child.once('exit', () => r())));
    }
    for (const port of ports) await waitFor(() => pong(port), `cluster node ${port} to answer`, 10_000);
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (created.status !== 0) {
      throw new Error(`redis-cli --cluster create failed: ${created.stderr || created.stdout}`);
    }
    // Every node must see all slots assigned and the others up before clients can rely on it.
    for (const port of ports)
      await waitFor(() => clusterOk(port, masters), `cluster state ok on ${port}`, 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${ports[0]}`,
    ports,
    pids: children.map((c) => c.pid ?? 0),
    stop,
  };
}

async function withNode<T>(port: number, fn: (r: Redis) => Promise<T>, fallback: T): Promise<T> {
  const r = new Redis(port, '127.0.0.1', {
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } catch {
    return fallback;
  } finally {
    r.disconnect();
  }
}

const pong = (port: number) => withNode(port, async (r) => (await r.ping()) === 'PONG', false);

const clusterOk = (port: number, masters: number) =>
  withNode(
    port,
    async (r) => {
      const info = String(await r.call('CLUSTER', 'INFO'));
      return (
        /cluster_state:ok/.test(info) &&
        /cluster_slots_assigned:16384/.test(info) &&
        new RegExp(`cluster_known_nodes:${masters}\\b`).test(info)
      );
    },
    false,
  );
