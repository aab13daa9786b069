import type { BlobStore } from './blobs.js';
import type { Store } from './store.js';

/**
 * What a backend opens: its store, its blob store and how to close both. Its own module so a
 * backend (mongo-store.ts) need not import index.ts, which loads the backends.
 */
export interface Persistence {
  store: Store;
  blobs: BlobStore;
  close(): Promise<void>;
}
