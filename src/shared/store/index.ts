import { join } from 'node:path';
import type { Config } from '../config.js';
import { FsBlobStore } from './blobs.js';
import type { Persistence } from './persistence.js';
import { sqliteStore } from './sqlite-store.js';

export type * from './store.js';
export type { BlobStore } from './blobs.js';
export type { Persistence } from './persistence.js';

/**
 * SQLite + files under DATA_DIR by default; MongoDB + GridFS when MONGODB_URL is set. A new
 * backend is chosen here (see composeStore in store.ts for what it provides).
 */
export async function openPersistence(config: Config): Promise<Persistence> {
  if (config.mongodbUrl) {
    const { openMongo } = await import('./mongo-store.js');
    return openMongo(config.mongodbUrl, { timeoutMs: config.mongodbTimeoutMs });
  }
  const store = sqliteStore(join(config.dataDir, 'shelia.db'));
  await store.init();
  return { store, blobs: new FsBlobStore(join(config.dataDir, 'blobs')), close: () => store.close() };
}
