import { MongoClient, type Db } from 'mongodb';
import type { Persistence } from './persistence.js';
import { mongoAttendance } from './mongo/attendance.js';
import { mongoBatches } from './mongo/batches.js';
import { createIndexes, openCollections } from './mongo/collections.js';
import { mongoGallery } from './mongo/gallery.js';
import { GridFsBlobStore } from './mongo/gridfs-blobs.js';
import { mongoIdempotency } from './mongo/idempotency.js';
import { mongoUnknowns } from './mongo/unknowns.js';
import { mongoUsers } from './mongo/users.js';
import { mongoWebhooks } from './mongo/webhooks.js';
import { composeStore, type Store } from './store.js';

export { GridFsBlobStore };

/**
 * MongoDB (when MONGODB_URL is set): the same contracts as the SQLite store, one module per
 * repository in ./mongo/. No multi-document transactions: they need a replica set, and a
 * standalone mongod is a supported deployment; each module says what gives it the answers
 * SQLite's transactions give. `onClose` releases the connection (openMongo passes the client's).
 */
export function mongoStore(db: Db, onClose: () => Promise<void> = () => Promise.resolve()): Store {
  const cols = openCollections(db);
  return composeStore({
    lifecycle: {
      kind: 'mongodb',
      init: () => createIndexes(cols),
      close: onClose,
      async ping() {
        await db.command({ ping: 1 });
      },
    },
    users: { ...mongoUsers(cols), ...mongoGallery(cols) },
    batches: mongoBatches(cols),
    idempotency: mongoIdempotency(cols),
    attendance: mongoAttendance(cols),
    unknowns: mongoUnknowns(cols),
    webhooks: mongoWebhooks(cols),
  });
}

/**
 * Connects to MONGODB_URL and prepares the collections. The database is the one named in the URL
 * (mongodb://host:27017/shelia); `dbName` overrides it (the tests use a fresh one per run).
 * `timeoutMs` bounds server selection and connecting (the driver waits 30 s by default), so a
 * dead or unreachable database fails a call in that time (503) instead of holding it.
 */
export async function openMongo(
  url: string,
  opts: { dbName?: string; timeoutMs?: number } = {},
): Promise<Persistence> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const client = await new MongoClient(url, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    // A server that stops answering on an open connection (frozen, partitioned): a backstop
    // (the driver's per-operation timeoutMS has no effect in 7.x), long enough for the largest
    // single read here (a 5,000-template gallery page, one GridFS chunk batch).
    socketTimeoutMS: Math.max(10_000, 2 * timeoutMs),
  }).connect();
  const db = client.db(opts.dbName);
  const store = mongoStore(db, () => client.close());
  try {
    await store.init();
  } catch (err) {
    await client.close();
    throw err;
  }
  const blobs = new GridFsBlobStore(db);
  // Every process start sweeps what a process that died mid-upload left (cheap: photos are
  // deleted once processed, so the bucket stays small).
  await blobs.sweepOrphanChunks();
  return { store, blobs, close: () => store.close() };
}
