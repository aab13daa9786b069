import type { Config } from '../../shared/config.js';
import type { JobProducer } from '../../shared/jobs/index.js';
import type { Logger } from '../../shared/logger.js';
import type { ModelManifest } from '../../shared/model-manifest.js';
import type { OpenSetModel } from '../../shared/open-set.js';
import type { BlobStore, Store } from '../../shared/store/index.js';
import type { GallerySync } from '../matching/gallery-sync.js';
import type { PoolLane } from '../inference/pool.js';
import type { WorkerMetrics } from '../metrics.js';

/** What every processor may use; passed in so tests can build it from real parts. */
export interface ProcessorDeps {
  config: Config;
  /** The inference pool, on the lane of the job's queue (sync jobs before items). */
  pool: PoolLane;
  manifest: ModelManifest;
  /** The embedder's open-set threshold model (gallery-size-aware 1:N thresholds). */
  openSet: OpenSetModel;
  store: Store;
  blobs: BlobStore;
  gallery: GallerySync;
  /** Where processors queue follow-up jobs (webhooks, clean-ups, groupings). */
  jobs: JobProducer;
  logger: Logger;
  metrics?: WorkerMetrics;
}
