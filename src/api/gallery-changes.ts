import type { RedisClient } from '../shared/redis-client.js';
import type { Config } from '../shared/config.js';
import { galleryStreamKey, publishGalleryChange } from '../shared/gallery-stream.js';
import { unavailableOnError } from './redis-errors.js';

/** Tells every worker to re-read a user's templates (after an erasure or an enrollment here). */
export class GalleryChanges {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    config: Config,
  ) {
    this.key = galleryStreamKey(config);
  }

  async changed(userId: string): Promise<void> {
    await unavailableOnError(() => publishGalleryChange(this.redis, this.key, userId));
  }
}
