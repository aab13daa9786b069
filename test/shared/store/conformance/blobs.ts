import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { BlobStore } from '../../../../src/shared/store/blobs.js';

/** The blob store that goes with the backend (blobs.ts: files; GridFS on MongoDB). */
export function blobsConformance(current: () => BlobStore): void {
  void describe('BlobStore', () => {
    let blobs: BlobStore;
    beforeEach(() => {
      blobs = current();
    });

    void describe('blobs', () => {
      void it('put, get, overwrite and delete', async () => {
        const a = Uint8Array.from([0, 1, 2, 255, 254]);
        await blobs.put('job-1/item-0', a);
        assert.deepEqual(await blobs.get('job-1/item-0'), Buffer.from(a));
        const big = Buffer.alloc(600_000, 7); // several GridFS chunks
        big[599_999] = 9;
        await blobs.put('job-1/item-0', big);
        assert.deepEqual(await blobs.get('job-1/item-0'), big);
        await blobs.put('job-1/item-1', new Uint8Array(0));
        assert.deepEqual(await blobs.get('job-1/item-1'), Buffer.alloc(0));

        await blobs.delete('job-1/item-0');
        assert.equal(await blobs.get('job-1/item-0'), undefined);
        await blobs.delete('job-1/item-0');
        assert.equal(await blobs.get('job-9/item-0'), undefined);
        assert.deepEqual(await blobs.get('job-1/item-1'), Buffer.alloc(0));
      });

      void it('10 concurrent puts of one key leave exactly one of them, whole', async () => {
        // A retried item overlapping its first attempt writes the same key twice at once.
        const versions = Array.from({ length: 10 }, (_, i) => Buffer.alloc(300_000 + i, i + 1));
        await Promise.all(versions.map((v) => blobs.put('job-1/same-0', v)));
        const got = await blobs.get('job-1/same-0');
        assert.ok(got, 'a blob remains');
        assert.ok(
          versions.some((v) => v.equals(got)),
          `one of the versions, whole (${got.length} bytes)`,
        );
        await blobs.delete('job-1/same-0');
        assert.equal(await blobs.get('job-1/same-0'), undefined);
      });

      void it('deletePrefix deletes a job’s blobs and says how many', async () => {
        for (const k of ['job-1/a-0', 'job-1/b-0', 'job-1/c-1', 'job-10/a-0', 'job-2/a-0']) {
          await blobs.put(k, Buffer.from(k));
        }
        assert.equal(await blobs.deletePrefix('job-1'), 3);
        assert.equal(await blobs.get('job-1/a-0'), undefined);
        assert.equal(await blobs.get('job-1/c-1'), undefined);
        assert.deepEqual(await blobs.get('job-10/a-0'), Buffer.from('job-10/a-0'));
        assert.deepEqual(await blobs.get('job-2/a-0'), Buffer.from('job-2/a-0'));
        assert.equal(await blobs.deletePrefix('job-1'), 0);
        assert.equal(await blobs.deletePrefix('job-404'), 0);
      });
    });
  });
}
