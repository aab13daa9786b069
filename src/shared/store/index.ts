import { join } from 'node:path';
import type { Config } from '../config.js';
import { FsBlobStore } from './blobs.js';
import type { Persistence } from './persistence.js';
import { SqliteStore } from './sqlite-store.js';

export type * from './store.js';
export type { BlobStore } from './blobs.js';
export type { Persistence } from './persistence.js';

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
