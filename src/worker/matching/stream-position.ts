import type { RedisClient } from '../../shared/redis-client.js';

/** Compares two stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

interface StreamInfo {
  length: number;
  lastId: string;
  firstId: string | undefined;
  maxDeletedId: string;
  entriesAdded: number;
}

/** XINFO STREAM's fields this needs, or undefined when the stream does not exist. */
export async function streamInfo(redis: RedisClient, key: string): Promise<StreamInfo | undefined> {
  let info: unknown[];
  try {
    info = (await redis.xinfo('STREAM', key)) as unknown[];
  } catch {
    return undefined;
  }
  const field = (name: string): unknown => (info.includes(name) ? info[info.indexOf(name) + 1] : undefined);
  const id = (v: unknown) => (typeof v === 'string' ? v : '0-0');
  const first = field('first-entry');
  return {
    length: Number(field('length') ?? 0),
    lastId: id(field('last-generated-id')),
    firstId: Array.isArray(first) && typeof first[0] === 'string' ? first[0] : undefined,
    maxDeletedId: id(field('max-deleted-entry-id')),
    entriesAdded: Number(field('entries-added') ?? 0),
  };
}

/**
 * Whether the stream still holds every entry after `since` (true), or why not. Trimming (MAXLEN)
 * drops the oldest entries first, so the entries after `since` are all there when an entry at
 * or before it still is, when nothing came after it, or when nothing was ever dropped
 * (entries-added = length); XDEL shows in max-deleted-entry-id. A missing stream, or a `since`
 * beyond its last id (the stream was recreated), means changes may be lost: only a full load of
 * the store is safe then.
 */
export async function streamCovers(redis: RedisClient, key: string, since: string): Promise<true | string> {
  const info = await streamInfo(redis, key);
  if (!info) return `stream ${key} is gone`;
  if (compareStreamIds(since, info.lastId) > 0)
    return `snapshot stream id ${since} is after the stream's last ${info.lastId}`;
  if (compareStreamIds(info.maxDeletedId, since) > 0) return `stream entries after ${since} were deleted`;
  if (since === info.lastId) return true;
  if (info.firstId !== undefined && compareStreamIds(info.firstId, since) <= 0) return true;
  if (info.entriesAdded === info.length) return true;
  return `stream trimmed past the snapshot (first entry ${info.firstId ?? 'none'}, snapshot at ${since})`;
}
