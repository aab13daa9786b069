import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsBlobStore } from '../../../src/shared/store/blobs.js';

void describe('FsBlobStore', () => {
  let dir: string;
  let root: string;
  let blobs: FsBlobStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shelia-blobs-'));
    root = join(dir, 'blobs');
    blobs = new FsBlobStore(root);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Every file under `dir`, relative to it. */
  const files = async () =>
    (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());

  void it('rejects keys with .. or absolute paths, for every operation, and writes nothing', async () => {
    const bad = [
      '../escape',
      'job-1/../../escape',
      'job-1/..',
      '..',
      'job-1/..hidden',
      '/etc/passwd',
      '/tmp/x',
      '',
      'job-1//x',
      'job-1\\..\\x',
      'job-1/x/',
    ];
    for (const key of bad) {
      await assert.rejects(blobs.put(key, Buffer.from('x')), /invalid blob key/, `put ${key}`);
      await assert.rejects(blobs.get(key), /invalid blob key/, `get ${key}`);
      await assert.rejects(blobs.delete(key), /invalid blob key/, `delete ${key}`);
      await assert.rejects(blobs.deletePrefix(key), /invalid blob key/, `deletePrefix ${key}`);
    }
    assert.deepEqual(await files(), []);
  });

  void it('put leaves no temp file behind', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => blobs.put(`job-2/item-${i}`, Buffer.alloc(10_000 + i, i))),
    );
    await blobs.put('job-2/item-0', Buffer.from('overwritten'));
    const names = (await files()).map((e) => e.name);
    assert.equal(names.length, 20);
    assert.deepEqual(
      names.filter((n) => n.endsWith('.tmp')),
      [],
    );
    assert.deepEqual(await blobs.get('job-2/item-0'), Buffer.from('overwritten'));
    assert.deepEqual(await blobs.get('job-2/item-19'), Buffer.alloc(10_019, 19));
  });

  void it('a reader never sees a partly written blob while it is overwritten', async () => {
    const size = 8 * 1024 * 1024;
    const first = Buffer.alloc(size, 0xaa);
    const second = Buffer.alloc(size, 0xbb);
    await blobs.put('job-3/item-0', first);
    let writing = true;
    const write = blobs.put('job-3/item-0', second).finally(() => {
      writing = false;
    });
    let reads = 0;
    while (writing || reads === 0) {
      const got = await blobs.get('job-3/item-0');
      reads++;
      assert.ok(got?.equals(first) || got?.equals(second), `read ${reads} saw a partial blob`);
    }
    await write;
    assert.deepEqual(await blobs.get('job-3/item-0'), second);
  });

  void it('a burst of small writes and reads in one loop lets the event loop turn every few MiB', async () => {
    // Small blobs are written synchronously; 40 MiB of them in one loop (a big batch intake)
    // must still let other requests in: count the turns of the loop while it runs.
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const photo = Buffer.alloc(256 * 1024, 5);
    for (let i = 0; i < 160; i++) await blobs.put(`job-4/item-${i}`, photo);
    const writeTurns = turns;
    for (let i = 0; i < 160; i++) assert.equal((await blobs.get(`job-4/item-${i}`))?.length, photo.length);
    running = false;
    assert.ok(writeTurns >= 5, `the loop turned ${writeTurns} times during 40 MiB of writes`);
    assert.ok(turns - writeTurns >= 5, `the loop turned ${turns - writeTurns} times during 40 MiB of reads`);
    for (let i = 0; i < 160; i++) await blobs.delete(`job-4/item-${i}`);
    assert.equal(await blobs.get('job-4/item-0'), undefined);
  });
});
