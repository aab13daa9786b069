import type { RedisClient } from './redis-client.js';
import type { Config } from './config.js';

/** Stream of user ids whose templates changed; every worker replays it into its gallery index. */
export const galleryStreamKey = (config: Config) => `${config.keyPrefix}:gallery:changes`;

/** Stream entries kept: far more than any worker falls behind between two checks. */
const GALLERY_STREAM_MAXLEN = 100_000;

/** Announces that a user's templates changed (call after the store has committed). */
export async function publishGalleryChange(
  redis: RedisClient,
  streamKey: string,
  userId: string,
): Promise<void> {
  await redis.xadd(streamKey, 'MAXLEN', '~', GALLERY_STREAM_MAXLEN, '*', 'user_id', userId);
}

/** Stream entries as XRANGE returns them: [id, [field, value, ...]]. */
export type GalleryChanges = [id: string, fields: string[]][];

/**
 * publishGalleryChange and the first page of the stream after `afterId` (which then holds this
 * change) in one round trip: a worker that enrolled someone applies its own change at once, and
 * two commands were two socket writes, each ~0.3-0.7 ms of the worker's main thread on this VM
 * (bench:enroll's profile: 330 ms of writes for 477 XADDs, 185 ms for the XRANGEs after them).
 * Not a Lua script: 2000 calls from one client (Zen 3) took Redis 43-45 us of CPU a call as this
 * pipeline and 69-75 us as a script, for 15-25 us less on the client once warm; Redis is the
 * part every worker shares.
 */
export async function publishAndReadGalleryChanges(
  redis: RedisClient,
  streamKey: string,
  userId: string,
  afterId: string,
  count: number,
): Promise<GalleryChanges> {
  const replies = await redis
    .pipeline()
    .xadd(streamKey, 'MAXLEN', '~', GALLERY_STREAM_MAXLEN, '*', 'user_id', userId)
    .xrange(streamKey, `(${afterId}`, '+', 'COUNT', count)
    .exec();
  for (const [err] of replies ?? []) if (err) throw err;
  const read = replies?.[1]?.[1];
  if (!Array.isArray(read)) throw new Error('gallery stream: no XRANGE reply');
  return read as GalleryChanges;
}
