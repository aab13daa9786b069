import { join } from 'node:path';
import type { Config } from '../config.js';
import { FsBlobStore, type BlobStore } from './blobs.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export type * from './store.js';
export type { BlobStore } from './blobs.js';

export interface Persistence {
  store: Store;
  blobs: BlobStore;
  close(): Promise<void>;
}

/** SQLite + files under DATA_DIR by default; MongoDB + GridFS when MONGODB_URL is set. */
export async function openPersistence(config: Config): Promise<Persistence> {
  if (config.mongodbUrl) {
    const { openMongo } = await import('./mongo-store.js');
    return openMongo(config.mongodbUrl, { timeoutMs: config.mongodbTimeoutMs });
  }
  const store = new SqliteStore(join(config.dataDir, 'shelia.db'));
  await store.init();
  return { store, blobs: new FsBlobStore(join(config.dataDir, 'blobs')), close: () => store.close() };
}
