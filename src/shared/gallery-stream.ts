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
 * XADD then XRANGE of the page after ARGV[3], as one script: publishAndReadGalleryChanges.
 * KEYS[1] the stream; ARGV: maxlen, user id, exclusive start `(id`, count.
 */
const ANNOUNCE_AND_READ = `redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'user_id', ARGV[2])
return redis.call('XRANGE', KEYS[1], ARGV[3], '+', 'COUNT', ARGV[4])`;

/** The script as a command of the client (ioredis sends EVALSHA, and EVAL once when NOSCRIPT). */
interface AnnouncingClient {
  sheliaGalleryAnnounce(
    key: string,
    maxlen: number,
    userId: string,
    after: string,
    count: number,
  ): Promise<unknown>;
}

const announcing = new WeakSet<RedisClient>();

function announcer(redis: RedisClient): AnnouncingClient {
  if (!announcing.has(redis)) {
    redis.defineCommand('sheliaGalleryAnnounce', { numberOfKeys: 1, lua: ANNOUNCE_AND_READ });
    announcing.add(redis);
  }
  return redis as unknown as AnnouncingClient;
}

/**
 * publishGalleryChange and the first page of the stream after `afterId` (which then holds this
 * change) in one command: a worker that enrolled someone applies its own change at once. Two
 * commands were two socket writes, each ~0.3-0.7 ms of the worker's main thread on this VM;
 * ioredis's pipeline for the two (the next step) still cost ~0.37 ms a call in bench:enroll's
 * on-CPU profile (Zen 3), half of it building the Pipeline object, which copies every command
 * onto itself. 500 calls from a new process, xadd + xrange: 335-420 us of CPU a call as a
 * pipeline, 199-284 us as this script.
 */
export async function publishAndReadGalleryChanges(
  redis: RedisClient,
  streamKey: string,
  userId: string,
  afterId: string,
  count: number,
): Promise<GalleryChanges> {
  const read = await announcer(redis).sheliaGalleryAnnounce(
    streamKey,
    GALLERY_STREAM_MAXLEN,
    userId,
    `(${afterId}`,
    count,
  );
  if (!Array.isArray(read)) throw new Error('gallery stream: no XRANGE reply');
  return read as GalleryChanges;
}
