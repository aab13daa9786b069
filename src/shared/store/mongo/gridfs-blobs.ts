import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { GridFSBucket, MongoRuntimeError, ObjectId, type Db, type Filter, type GridFSFile } from 'mongodb';
import type { BlobStore } from '../blobs.js';

/** FsBlobStore's key rule (blobs.ts), so a key valid for one blob store is valid for the other. */
const SAFE_KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/;
function checkKey(key: string): string {
  if (!SAFE_KEY.test(key) || key.includes('..')) throw new Error(`invalid blob key ${key}`);
  return key;
}
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Photos in GridFS (bucket `blobs`), the file name being the key. A GridFS file becomes visible
 * only when its files document is written, after all its chunks: a reader never sees half a photo.
 */
export class GridFsBlobStore implements BlobStore {
  private readonly bucket: GridFSBucket;

  constructor(private readonly db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: 'blobs' });
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const upload = this.bucket.openUploadStream(checkKey(key));
    try {
      await pipeline(Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]), upload);
    } catch (err) {
      // The chunks written so far would stay without a files document: take them back (a
      // process that dies here leaves them to sweepOrphanChunks).
      await upload.abort().catch(() => undefined);
      throw err;
    }
    // Overwrite, as FsBlobStore's rename does. Files of one name are ordered by _id, and each
    // writer deletes only those below its own: of concurrent puts of a key exactly one (the
    // highest _id) remains. Deleting every other one made two concurrent puts delete each other.
    await this.deleteFiles({ filename: key, _id: { $lt: upload.id } });
  }

  async get(key: string): Promise<Buffer | undefined> {
    const [file] = await this.bucket
      .find({ filename: checkKey(key) })
      .sort({ _id: -1 })
      .limit(1)
      .toArray();
    if (!file) return undefined;
    try {
      return await buffer(this.bucket.openDownloadStream(file._id));
    } catch (err) {
      // Deleted while we read it (the item got its outcome): gone, as for FsBlobStore.
      if (await this.bucket.find({ _id: file._id }).hasNext()) throw err;
      return undefined;
    }
  }

  async delete(key: string): Promise<void> {
    await this.deleteFiles({ filename: checkKey(key) });
  }

  async deletePrefix(prefix: string): Promise<number> {
    const pattern = new RegExp(`^${escapeRegExp(checkKey(prefix))}/`);
    const names = await this.deleteFiles({ filename: { $regex: pattern } });
    return names.size;
  }

  /**
   * Deletes chunks whose files document does not exist and whose upload began over `olderThanMs`
   * ago (an upload's files_id is an ObjectId made when it started): left by a process that died
   * mid-upload. Younger ones may be uploads still running. Returns how many chunks went.
   */
  async sweepOrphanChunks(olderThanMs = 3_600_000): Promise<number> {
    const chunks = this.db.collection<{ files_id: ObjectId }>('blobs.chunks');
    const cutoff = ObjectId.createFromTime(Math.floor((Date.now() - olderThanMs) / 1000));
    const ids: ObjectId[] = await chunks.distinct('files_id', { files_id: { $lt: cutoff } });
    if (ids.length === 0) return 0;
    const files = await this.bucket.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray();
    const present = new Set(files.map((f) => f._id.toHexString()));
    const orphans = ids.filter((id) => !present.has(id.toHexString()));
    if (orphans.length === 0) return 0;
    const { deletedCount } = await chunks.deleteMany({ files_id: { $in: orphans } });
    return deletedCount;
  }

  /** Deletes the matching files (files document and chunks); returns the distinct keys deleted. */
  private async deleteFiles(filter: Filter<GridFSFile>): Promise<Set<string>> {
    const files = await this.bucket.find(filter, { projection: { _id: 1, filename: 1 } }).toArray();
    for (const f of files) {
      await this.bucket.delete(f._id).catch((err: unknown) => {
        // "File not found": a concurrent delete got there first, which is the same outcome.
        if (!(err instanceof MongoRuntimeError && /not found/i.test(err.message))) throw err;
      });
    }
    return new Set(files.map((f) => f.filename));
  }
}
