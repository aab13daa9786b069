import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Photos in flight live here, not in Redis: the API writes the upload, the job carries the key,
 * the worker reads it and deletes it when the item has its outcome (unless retention is on).
 * Keys are `<job_id>/<item>-<n>`.
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** undefined when the blob is gone (erased, or already processed). */
  get(key: string): Promise<Buffer | undefined>;
  delete(key: string): Promise<void>;
  /** Deletes every blob whose key starts with `prefix` (a job's folder); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}

const SAFE_KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

function checkKey(key: string): string {
  if (!SAFE_KEY.test(key) || key.includes('..')) throw new Error(`invalid blob key ${key}`);
  return key;
}

/** The embedded default: files under DATA_DIR/blobs, written atomically (temp file + rename). */
export class FsBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = join(this.root, checkKey(key));
    const tmp = `${path}.${randomUUID()}.tmp`;
    // The folder is made only when the write says it is missing: a batch's photos share one,
    // and a recursive mkdir per photo was more trips to the libuv pool for nothing.
    await writeFile(tmp, bytes).catch(async (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(tmp, bytes);
    });
    await rename(tmp, path);
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.root, checkKey(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    // unlink, not rm({ force }): rm lstats first, a second trip to the libuv pool per photo; a
    // key is always a file.
    await unlink(join(this.root, checkKey(key))).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }

  async deletePrefix(prefix: string): Promise<number> {
    const dir = join(this.root, checkKey(prefix));
    const names = await readdir(dir).catch(() => [] as string[]);
    await rm(dir, { recursive: true, force: true });
    return names.length;
  }
}
