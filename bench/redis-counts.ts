/**
 * What the service asked of Redis between two moments: `INFO commandstats` (every command,
 * those run inside BullMQ's Lua scripts included) and `INFO stats` network bytes, read on a
 * private server (bench/redis-private.ts) so nobody else's commands are counted.
 */
import { Redis } from 'ioredis';

export interface RedisSnapshot {
  calls: Map<string, number>;
  inBytes: number;
  outBytes: number;
  /** used_cpu_user + used_cpu_sys of the server, seconds. */
  cpuSeconds: number;
}

export interface RedisUse {
  commands: number;
  inBytes: number;
  outBytes: number;
  /** Command -> calls, most called first. */
  byCommand: [string, number][];
}

function field(info: string, name: string): number {
  const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : 0;
}

function decimal(info: string, name: string): number {
  const m = new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info);
  return m ? Number(m[1]) : 0;
}

export async function redisSnapshot(url: string): Promise<RedisSnapshot> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const [stats, commandstats, cpu] = await Promise.all([
      redis.info('stats'),
      redis.info('commandstats'),
      redis.info('cpu'),
    ]);
    const calls = new Map<string, number>();
    for (const m of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      calls.set(m[1] ?? '', Number(m[2]));
    return {
      calls,
      inBytes: field(stats, 'total_net_input_bytes'),
      outBytes: field(stats, 'total_net_output_bytes'),
      cpuSeconds: decimal(cpu, 'used_cpu_user') + decimal(cpu, 'used_cpu_sys'),
    };
  } finally {
    redis.disconnect();
  }
}

/** after - before, without INFO (the snapshots' own; the service sends it only at start-up). */
export function redisUse(before: RedisSnapshot, after: RedisSnapshot): RedisUse {
  const byCommand: [string, number][] = [];
  for (const [cmd, n] of after.calls) {
    const d = n - (before.calls.get(cmd) ?? 0);
    if (d > 0 && cmd !== 'info') byCommand.push([cmd, d]);
  }
  byCommand.sort((a, b) => b[1] - a[1]);
  return {
    commands: byCommand.reduce((s, [, n]) => s + n, 0),
    inBytes: after.inBytes - before.inBytes,
    outBytes: after.outBytes - before.outBytes,
    byCommand,
  };
}

/** Difference of two count tables (store or blob calls), zeros dropped, most called first. */
export function countsUse(before: Record<string, number>, after: Record<string, number>): [string, number][] {
  return Object.entries(after)
    .map(([k, n]): [string, number] => [k, n - (before[k] ?? 0)])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** What one item cost, averaged over a measured run. */
export interface ItemCost {
  items: number;
  redis_commands: number;
  redis_in_bytes: number;
  redis_out_bytes: number;
  /** The Redis server's CPU per item, ms: 1000 / this is the items/s one Redis core carries. */
  redis_cpu_ms: number;
  /** Command -> calls per item, the ten most called. */
  redis_top: Record<string, number>;
  store_calls: number;
  /** `api.store.getJob` -> calls per item. */
  store_by_call: Record<string, number>;
  blob_reads: number;
  blob_writes: number;
  blob_deletes: number;
}

const per = (n: number, items: number) => Math.round((n / items) * 100) / 100;

export interface Meter {
  /** The cost per item of everything since the meter started. */
  stop(items: number): Promise<ItemCost>;
}

/**
 * Starts counting: Redis on `redisUrl` (private, see above), and the store and blob calls
 * `counts()` reports (serviceCounts of a counted service). The service's idle work (a heartbeat
 * a second, BullMQ's blocking waits) is counted too: it is part of what Redis carries.
 */
export async function startMeter(
  redisUrl: string,
  counts: () => Promise<Record<string, number>>,
): Promise<Meter> {
  const [r0, c0] = await Promise.all([redisSnapshot(redisUrl), counts()]);
  return {
    async stop(items) {
      const [r1, c1] = await Promise.all([redisSnapshot(redisUrl), counts()]);
      const redis = redisUse(r0, r1);
      const calls = countsUse(c0, c1);
      const sum = (match: (k: string) => boolean) =>
        calls.filter(([k]) => match(k)).reduce((s, [, n]) => s + n, 0);
      const storeCalls = calls.filter(([k]) => k.includes('.store.'));
      return {
        items,
        redis_commands: per(redis.commands, items),
        redis_in_bytes: Math.round(redis.inBytes / items),
        redis_out_bytes: Math.round(redis.outBytes / items),
        redis_cpu_ms: Math.round(((r1.cpuSeconds - r0.cpuSeconds) * 1000 * 1000) / items) / 1000,
        redis_top: Object.fromEntries(redis.byCommand.slice(0, 10).map(([k, n]) => [k, per(n, items)])),
        store_calls: per(
          sum((k) => k.includes('.store.')),
          items,
        ),
        store_by_call: Object.fromEntries(storeCalls.map(([k, n]) => [k, per(n, items)])),
        blob_reads: per(
          sum((k) => /\.blobs\.get$/.test(k)),
          items,
        ),
        blob_writes: per(
          sum((k) => /\.blobs\.put$/.test(k)),
          items,
        ),
        blob_deletes: per(
          sum((k) => /\.blobs\.delete/.test(k)),
          items,
        ),
      };
    },
  };
}

/** The cost table a bench prints (the same figures are in its --json line). */
export function formatItemCost(label: string, c: ItemCost): string[] {
  const kv = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  return [
    `per ${label} (${c.items} measured): Redis ${c.redis_commands} commands, ${c.redis_in_bytes} B in, ` +
      `${c.redis_out_bytes} B out, ${c.redis_cpu_ms} ms Redis CPU; store ${c.store_calls} calls; blobs ${c.blob_reads} reads, ` +
      `${c.blob_writes} writes, ${c.blob_deletes} deletes`,
    `  Redis top: ${kv(c.redis_top)}`,
    `  store: ${kv(c.store_by_call)}`,
  ];
}
