import type { Redis } from 'ioredis';

/** Compares two stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/**
 * Whether the stream still holds every entry after `since` (true), or why not. Redis 7 keeps a
 * stream's max-deleted-entry-id: once MAXLEN trimming went past `since`, changes a snapshot has
 * not seen are gone and only a full load is safe. A missing stream is fine only for a snapshot
 * that had seen no entry; a `since` beyond the stream's last id means another stream (recreated).
 */
export async function streamCovers(redis: Redis, key: string, since: string): Promise<true | string> {
  let info: unknown[];
  try {
    info = (await redis.xinfo('STREAM', key)) as unknown[];
  } catch {
    return since === '0-0' ? true : `stream ${key} is gone`;
  }
  const field = (name: string): string => {
    const v = info[info.indexOf(name) + 1];
    return info.includes(name) && typeof v === 'string' ? v : '0-0';
  };
  const maxDeleted = field('max-deleted-entry-id');
  const last = field('last-generated-id');
  if (compareStreamIds(since, last) > 0)
    return `snapshot stream id ${since} is after the stream's last ${last}`;
  if (compareStreamIds(maxDeleted, since) > 0)
    return `stream trimmed past the snapshot (${maxDeleted} > ${since})`;
  return true;
}
