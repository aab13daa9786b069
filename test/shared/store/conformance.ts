import { afterEach, beforeEach, describe } from 'node:test';
import type { BlobStore } from '../../../src/shared/store/blobs.js';
import type { Store } from '../../../src/shared/store/store.js';
import { attendanceConformance } from './conformance/attendance.js';
import { evidenceConformance } from './conformance/attendance-evidence.js';
import { batchesConformance } from './conformance/batches.js';
import { blobsConformance } from './conformance/blobs.js';
import { idempotencyConformance } from './conformance/idempotency.js';
import { unknownsConformance } from './conformance/unknowns.js';
import { usersConformance } from './conformance/users.js';
import { webhooksConformance } from './conformance/webhooks.js';

/**
 * The contracts of Store (store.ts, one file here per repository in ./conformance/) and
 * BlobStore (blobs.ts), run against every implementation: the SQLite store + FsBlobStore
 * always, the Mongo store + GridFsBlobStore when a MongoDB server is there. `open` gives a
 * fresh, empty store for each test; `cleanup` closes and removes it. A new backend's runner
 * (like sqlite-store.test.ts) calls this with its own `open`.
 */
export function storeConformance(
  name: string,
  open: () => Promise<{ store: Store; blobs: BlobStore; cleanup(): Promise<void> }>,
): void {
  void describe(name, () => {
    let opened: { store: Store; blobs: BlobStore; cleanup(): Promise<void> };

    beforeEach(async () => {
      opened = await open();
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    const store = () => opened.store;
    usersConformance(store);
    attendanceConformance(store);
    evidenceConformance(store);
    unknownsConformance(store);
    batchesConformance(store);
    idempotencyConformance(store);
    webhooksConformance(store);
    blobsConformance(() => opened.blobs);
  });
}
