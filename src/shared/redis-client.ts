import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { StartupError } from './startup.js';

/**
 * A connection to Shelia's Redis: one server, or a Redis Cluster (REDIS_CLUSTER=true, REDIS_URL
 * one seed node: ioredis asks it for the cluster's slots and connects to every master). BullMQ
 * takes either as its connection.
 */
export type RedisClient = Redis | Cluster;

/** The settings a client is built from (a subset of Config, so tests can pass plain objects). */
export interface RedisTarget {
  readonly redisUrl: string;
  readonly redisCluster: boolean;
}

/**
 * The one place a Redis client is constructed. `options` are per-connection options (fail-fast
 * timeouts for the API, `maxRetriesPerRequest: null` for BullMQ's blocking connections); on a
 * cluster they go to every node's connection (`redisOptions`), except the offline queue and lazy
 * connect, which are the cluster client's own: with `enableOfflineQueue: false` a command while
 * the cluster is not ready fails at once instead of waiting ("Cluster isn't ready"), as the
 * single-server client's does. (ioredis keeps the offline queue of each node's connection on
 * whatever is asked: the cluster client queues nothing itself when told not to.)
 */
export function createRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  if (!target.redisCluster) return new Redis(target.redisUrl, options);
  const { enableOfflineQueue, lazyConnect, ...perNode } = options;
  const u = new URL(target.redisUrl);
  return new Cluster(
    [{ host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(u.port || 6379) }],
    {
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(lazyConnect === undefined ? {} : { lazyConnect }),
      redisOptions: {
        ...perNode,
        ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
        ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
        ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    },
  );
}

/**
 * The key's hash tag: what Redis Cluster hashes instead of the whole key, the text between the
 * first `{` and the first `}` after it when not empty (the cluster spec's rule).
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * Why this configuration cannot run on a cluster, or undefined. Every BullMQ script touches
 * several keys of a queue (and a flow, keys of two queues) at once, as do the heartbeat's MULTI
 * and the workers' MGET: on a cluster they must all be in one slot, which only a hash tag in
 * the prefix every key starts with ensures. Without one BullMQ fails later, and obscurely
 * (CROSSSLOT errors from its scripts, jobs that never run).
 */
export function clusterConfigIssue(config: RedisTarget & { readonly keyPrefix: string }): string | undefined {
  if (!config.redisCluster) return undefined;
  if (hashTag(config.keyPrefix) === undefined) {
    return `KEY_PREFIX: with REDIS_CLUSTER=true it must hold a hash tag, e.g. {${config.keyPrefix.replace(/[{}]/g, '') || 'shelia'}}, so that all of Shelia's keys land in one slot (BullMQ's scripts use several keys at once)`;
  }
  const db = new URL(config.redisUrl).pathname.replace(/^\//, '');
  if (db !== '' && db !== '0') return `REDIS_URL: a Redis Cluster has only database 0 (the URL names ${db})`;
  return undefined;
}

/**
 * The servers a command that reads one node's keyspace or state (SCAN, INFO, DBSIZE) must run
 * on: every master of a cluster, or the one server.
 */
export function masters(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/**
 * Whether the server holding Shelia's keys answers. PING carries no key, so a cluster client
 * sends it to any node: with the master of the prefix's slot killed, PING kept answering PONG
 * from the other masters (8 of 8 over 8 s) while every command on Shelia's keys failed. A read
 * of a key in the slot (EXISTS: nothing is written) goes to the master that holds it.
 */
export async function answers(client: RedisClient, keyPrefix: string): Promise<boolean> {
  if (client instanceof Cluster) return typeof (await client.exists(`${keyPrefix}:ping`)) === 'number';
  return (await client.ping()) === 'PONG';
}

/**
 * Refuses to start when REDIS_CLUSTER says the opposite of what REDIS_URL is. A single-server
 * client on a cluster node fails every BullMQ add with `MOVED 5669 127.0.0.1:42995` (hash-tagged
 * prefix) or `CROSSSLOT` (not), i.e. 503s that do not say why; a cluster client on a single
 * server never gets a slot map. One `INFO cluster` on a connection of its own, bounded by
 * `timeoutMs`; a Redis that does not answer (or refuses INFO) gives no verdict: the service
 * starts and reports it as it does any Redis outage.
 */
export async function checkRedisMode(target: RedisTarget, timeoutMs = 1000): Promise<void> {
  const probe = new Redis(target.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  probe.on('error', () => undefined);
  let info: string;
  try {
    await probe.connect();
    info = await probe.info('cluster');
  } catch {
    return;
  } finally {
    probe.disconnect();
  }
  const u = new URL(target.redisUrl);
  const node = `${u.hostname}:${u.port || 6379}`;
  const enabled = /^cluster_enabled:1\b/m.test(info);
  if (enabled && !target.redisCluster) {
    throw new StartupError(
      `REDIS_URL (${node}) is a node of a Redis Cluster: set REDIS_CLUSTER=true and a hash-tagged KEY_PREFIX, e.g. {shelia}`,
    );
  }
  if (!enabled && target.redisCluster) {
    throw new StartupError(
      `REDIS_CLUSTER=true but REDIS_URL (${node}) is not a cluster node (cluster_enabled:0): unset REDIS_CLUSTER`,
    );
  }
}
