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
