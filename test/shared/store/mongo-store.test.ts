import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Binary, MongoClient, ObjectId } from 'mongodb';
import { GridFsBlobStore } from '../../../src/shared/store/mongo/gridfs-blobs.js';
import { openMongo } from '../../../src/shared/store/mongo-store.js';
import { storeConformance } from './conformance.js';
import { openCollections } from '../../../src/shared/store/mongo/collections.js';
import { mongoSightings } from '../../../src/shared/store/mongo/sightings.js';
import { recordSighting, type SightingStorage } from '../../../src/shared/store/rules/attendance-window.js';
import type { Store } from '../../../src/shared/store/store.js';
import { CHAINING_SIGHTING, sighting, WINDOW } from './conformance/fixtures.js';

const NAME = 'Mongo store + GridFsBlobStore';
const url = process.env.MONGODB_URL;

/** Drops a test database through a client of its own. */
async function dropDatabase(mongoUrl: string, dbName: string): Promise<void> {
  const client = await new MongoClient(mongoUrl).connect();
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

if (url) {
  // A database of its own for every test, dropped afterwards: never the one MONGODB_URL names.
  const freshDbName = () => `shelia_test_${process.pid}_${randomUUID().slice(0, 8)}`;

  storeConformance(NAME, async () => {
    const dbName = freshDbName();
    const persistence = await openMongo(url, { dbName });
    return {
      store: persistence.store,
      blobs: persistence.blobs,
      // Close first, then drop: dropping a database while its client still holds connections
      // (GridFS streams among them) once wedged FerretDB's SQLite backend for good.
      cleanup: async () => {
        try {
          await persistence.close();
        } finally {
          await dropDatabase(url, dbName);
        }
      },
    };
  });

  void describe(`${NAME}: GridFS`, () => {
    void it('sweeps chunks an upload left without its file (a process died mid-upload), and only those', async () => {
      const dbName = freshDbName();
      const persistence = await openMongo(url, { dbName });
      const client = await new MongoClient(url).connect();
      try {
        const blobs = persistence.blobs as GridFsBlobStore;
        await blobs.put('job-1/kept-0', Buffer.alloc(300_000, 1)); // two chunks, with its file
        const chunks = client.db(dbName).collection('blobs.chunks');
        const hoursAgo = ObjectId.createFromTime(Math.floor(Date.now() / 1000) - 2 * 3600);
        const justNow = new ObjectId(); // an upload still running elsewhere
        for (const [files_id, n] of [
          [hoursAgo, 0],
          [hoursAgo, 1],
          [justNow, 0],
        ] as const) {
          await chunks.insertOne({ files_id, n, data: new Binary(Buffer.alloc(10, 2)) });
        }
        assert.equal(await blobs.sweepOrphanChunks(), 2);
        assert.equal(await chunks.countDocuments({ files_id: hoursAgo }), 0);
        assert.equal(await chunks.countDocuments({ files_id: justNow }), 1);
        assert.deepEqual(await blobs.get('job-1/kept-0'), Buffer.alloc(300_000, 1));
        assert.equal(await blobs.sweepOrphanChunks(), 0);
      } finally {
        await client.close();
        await persistence.close();
        await dropDatabase(url, dbName);
      }
    });
  });

  void describe(`${NAME}: storage format`, () => {
    void it('stores embeddings as BSON binary of the Float32 bytes, without extra fields', async () => {
      const dbName = freshDbName();
      const persistence = await openMongo(url, { dbName });
      const { store } = persistence;
      const client = await new MongoClient(url).connect();
      try {
        const embedding = new Float32Array([0.5, -0.25, 1e-40]);
        await store.enroll(
          { user_id: 'u1', name: 'Ada', group: null, metadata: { $where: 'x', 'a.b': 1 } },
          {
            model: 'arcface-test',
            embedding,
            detection_score: 0.9,
            quality: { face_size: 100, sharpness: 20 },
            photo_sha256: 'photo-a',
          },
          'add',
        );
        const doc = await client
          .db(dbName)
          .collection<{ user_id: string; embedding: unknown }>('templates')
          .findOne({ user_id: 'u1' });
        assert.ok(doc);
        assert.ok(doc.embedding instanceof Binary);
        assert.deepEqual(Buffer.from(doc.embedding.value()), Buffer.from(embedding.buffer));
        assert.deepEqual((await store.getUser('u1'))?.metadata, { $where: 'x', 'a.b': 1 });
        const collections = (await client.db(dbName).listCollections().toArray()).map((c) => c.name);
        assert.ok(collections.includes('attendance'));
      } finally {
        await client.close();
        await dropDatabase(url, dbName);
        await persistence.close();
      }
    });
  });

  void describe(`${NAME}: a sighting whose attempt stopped midway (no transactions)`, () => {
    /**
     * The rule on this backend's own primitives, with one primitive failing once: what a worker
     * killed at that point leaves (the tower test under kill -9 counted one sighting twice).
     * Then the retry (BullMQ runs the frame again) on the intact primitives.
     */
    const withChain = async (body: (io: SightingStorage, store: Store) => Promise<void>) => {
      const dbName = freshDbName();
      const persistence = await openMongo(url, { dbName });
      const client = await new MongoClient(url).connect();
      try {
        const cols = openCollections(client.db(dbName));
        await body(mongoSightings(cols), persistence.store);
      } finally {
        await client.close();
        await persistence.close();
        await dropDatabase(url, dbName);
      }
    };
    const failing = (io: SightingStorage, name: 'link' | 'absorb'): SightingStorage => ({
      ...io,
      [name]: () => Promise.reject(new Error(`killed before ${name}`)),
    });
    const sightingsOf = async (store: Store) =>
      (await store.listAttendance({ limit: 10, user_id: 'u1' })).items.map((r) => r.sightings);

    void it('a match merged into a record but not linked is not counted again by its retry', async () => {
      await withChain(async (io, store) => {
        await recordSighting(io, sighting('k-0', 0), WINDOW);
        await assert.rejects(recordSighting(failing(io, 'link'), sighting('k-1', 1), WINDOW), /killed/);
        await recordSighting(io, sighting('k-1', 1), WINDOW);
        assert.deepEqual(await sightingsOf(store), [2]);
        // And the chain goes on counting right after it.
        await recordSighting(io, sighting('k-2', 2), WINDOW);
        assert.deepEqual(await sightingsOf(store), [3]);
      });
    });

    void it('records merged by a bridge whose absorbed record was not deleted are not counted twice', async () => {
      await withChain(async (io, store) => {
        await recordSighting(io, sighting('b-0', 0), WINDOW);
        await recordSighting(io, sighting('b-9', 9), WINDOW);
        await assert.rejects(recordSighting(failing(io, 'absorb'), sighting('b-4', 4.5), WINDOW), /killed/);
        // The next sighting in the window finds both records: it finishes the merge, once.
        await recordSighting(io, sighting('b-5', 5), WINDOW);
        assert.deepEqual(await sightingsOf(store), [4]);
        // The stopped bridge's retry changes nothing.
        await recordSighting(io, sighting('b-4', 4.5), WINDOW);
        assert.deepEqual(await sightingsOf(store), [4]);
      });
    });
  });

  void describe(`${NAME}: documents from before the attendance evidence fields`, () => {
    void it('a sighting chaining onto one counts its sightings as confirming, as SQLite’s migration does', async () => {
      const dbName = freshDbName();
      const persistence = await openMongo(url, { dbName });
      const { store } = persistence;
      const client = await new MongoClient(url).connect();
      try {
        // As written before confirming_sightings, strong_sightings, window_closes_at and the thresholds.
        await client
          .db(dbName)
          .collection('attendance')
          .insertOne({
            attendance_id: 'r-old',
            kind: 'match',
            user_id: 'u2',
            name: 'Name u2',
            group: null,
            camera_id: 'cam-1',
            timestamp: '2026-03-02T09:00:00.000Z',
            last_seen: '2026-03-02T09:00:00.000Z',
            sightings: 1,
            similarity_score: 0.8,
            distance: 0.2,
            bbox: { x: 0, y: 0, width: 9, height: 9 },
            thumbnail: null,
            embedding: null,
            job_id: 'job-old',
          });
        const before = await store.listAttendance({ limit: 10, now: '2026-03-02T09:01:00.000Z' });
        assert.deepEqual(
          before.items.map((r) => [r.status, r.confirming_sightings]),
          [['unconfirmed', 1]],
        );
        assert.deepEqual(await store.recordSighting(CHAINING_SIGHTING, 5 * 60_000), {
          attendance_id: 'r-old',
        });
        const [merged] = await store.attendanceOfJob('job-new');
        assert.deepEqual(
          [
            merged?.sightings,
            merged?.confirming_sightings,
            merged?.strong_sightings,
            merged?.status,
            merged?.window_closes_at,
            merged?.threshold,
          ],
          [2, 2, 1, 'confirmed', '2026-03-02T09:08:00.000Z', 0.59],
        );
      } finally {
        await client.close();
        await persistence.close();
        await dropDatabase(url, dbName);
      }
    });
  });
} else {
  void describe(
    NAME,
    {
      skip: "MONGODB_URL not set: this suite runs in npm test's second, MongoDB-protocol run (FerretDB or MONGODB_URL)",
    },
    () => {},
  );
}
