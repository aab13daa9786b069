import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { GridFSBucket, MongoRuntimeError, type Db, type Filter, type GridFSFile } from 'mongodb';
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

  constructor(db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: 'blobs' });
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const upload = this.bucket.openUploadStream(checkKey(key));
    await pipeline(Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]), upload);
    // Overwrite, as FsBlobStore's rename does: older files of this name go once the new one is there.
    await this.deleteFiles({ filename: key, _id: { $ne: upload.id } });
  }

  async get(key: string): Promise<Buffer | undefined> {
    const [file] = await this.bucket
      .find({ filename: checkKey(key) })
      .sort({ uploadDate: -1, _id: -1 })
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
