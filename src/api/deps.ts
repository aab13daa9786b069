import type { Registry } from 'prom-client';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import type { ModelManifest } from '../shared/model-manifest.js';
import type { OpenSetModel } from '../shared/open-set.js';
import type { BlobStore, Store } from '../shared/store/index.js';
import type { JobGateway } from './job-gateway.js';

export interface ApiDeps {
  config: Config;
  logger: Logger;
  jobs: JobGateway;
  manifest: ModelManifest;
  /** The embedder's open-set threshold model, for publishing 1:N thresholds. */
  openSet: OpenSetModel;
  registry: Registry;
  store: Store;
  blobs: BlobStore;
  startedAt: number;
}
