import type { Registry } from 'prom-client';
import type { Config } from '../shared/config.js';
import type { JobQueue } from '../shared/jobs/index.js';
import type { Logger } from '../shared/logger.js';
import type { ModelManifest } from '../shared/model-manifest.js';
import type { OpenSetModel } from '../shared/open-set.js';
import type { BlobStore, Store } from '../shared/store/index.js';
import type { ErasureScan } from './erasure-scan.js';
import type { GalleryChanges } from './gallery-changes.js';
import type { JobGateway } from './job-gateway.js';
import type { WorkerRegistry } from './worker-registry.js';

/**
 * What the routes use. The Redis side is one interface each (built over one JobGateway by
 * jobDeps), so route tests can run on an in-memory JobQueue and plain objects.
 */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  /** Enqueue jobs and wait for sync ones. */
  jobs: JobQueue;
  /** Redis answering, the queues' counts, the queues for the dashboard. */
  queues: Pick<JobGateway, 'ping' | 'queueDepths' | 'dashboardQueues'>;
  /** What the live workers announced. */
  workers: Pick<WorkerRegistry, 'announcements'>;
  /** An erasure's look at queued and running enrollment items. */
  erasure: Pick<ErasureScan, 'removeQueuedEnrollments' | 'enrollmentInFlight'>;
  /** Telling the workers' gallery indexes that a user changed. */
  gallery: Pick<GalleryChanges, 'changed'>;
  manifest: ModelManifest;
  /** The embedder's open-set threshold model, for publishing 1:N thresholds. */
  openSet: OpenSetModel;
  registry: Registry;
  store: Store;
  blobs: BlobStore;
  startedAt: number;
}
