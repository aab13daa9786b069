/**
 * Issue 13 items 6, 7 and 11: ids the API accepts but cannot serve, settings that fail
 * silently, form fields that quietly mean something else, a storage fault answered as a bug.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { csvField } from '../../src/cli/report.js';
import { loadConfig } from '../../src/shared/config.js';
import { b64, enrollAndWait, item, lfw } from '../helpers/batches.js';
import { canFreeze, freeze, thaw } from '../helpers/frozen-dir.js';
import { expectError, postJson, startService, type TestService } from '../helpers/service.js';

let svc: TestService;
before(async () => {
  svc = await startService();
});
after(async () => {
  await svc?.stop();
});

describe('user ids', () => {
  it('"." and ".." are refused: the router collapses them, so they could never be fetched or erased', async () => {
    for (const id of ['.', '..']) {
      const res = await postJson(svc.app, '/api/v1/enrollments', { items: [item(id, lfw('Aaron_Peirsol'))] });
      assert.equal((await expectError(res, 400, 'INVALID_REQUEST')).field, 'items.0.user_id');
    }
  });

  it('every other id form the API accepts can be enrolled, fetched and erased', async () => {
    const ids = ['a.b', '...', '.hidden', 'trailing.', '@me', ':c', 'x-y_z', 'mail@example.org', 'urn:x:1'];
    const { items } = await enrollAndWait(svc.app, {
      items: ids.map((id, i) =>
        item(id, lfw(['Aaron_Peirsol', 'Abdullah_Gul', 'Al_Sharpton'][i % 3] ?? '', 1)),
      ),
    });
    assert.deepEqual(
      items.map((r) => r.ok),
      ids.map(() => true),
      JSON.stringify(items),
    );
    for (const id of ids) {
      const path = `/api/v1/users/${encodeURIComponent(id)}`;
      assert.equal((await svc.app.request(path)).status, 200, `GET ${id}`);
      assert.equal((await svc.app.request(path, { method: 'DELETE' })).status, 200, `DELETE ${id}`);
      assert.equal((await svc.app.request(path)).status, 404, `${id} is gone`);
    }
  });
});

describe('settings and report cells', () => {
  it('a non-hex API_KEY_HASHES entry stops start-up, naming the variable, instead of locking everyone out', () => {
    assert.throws(() => loadConfig({ API_KEY_HASHES: 'my-secret-key' }), /API_KEY_HASHES/);
    const hash = 'a'.repeat(64);
    assert.deepEqual(loadConfig({ API_KEY_HASHES: hash.toUpperCase() }).apiKeyHashes, [hash]);
  });

  it('names that look like spreadsheet formulas reach the CLI report as text (CSV injection)', () => {
    for (const name of ['=HYPERLINK("http://x","y")', '+1+2', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd']) {
      const cell = csvField(name);
      assert.ok(!/^["]?[=+\-@\t\r]/.test(cell), `${JSON.stringify(name)} -> ${JSON.stringify(cell)}`);
    }
    assert.equal(csvField('Ann Lee'), 'Ann Lee');
  });
});

describe('multipart fields mean what they say', () => {
  const photoFile = new File([new Uint8Array(lfw('Aaron_Peirsol'))], 'a.jpg', { type: 'image/jpeg' });

  it('an empty attendance threshold is refused, not read as 0 (every face unknown)', async () => {
    const form = new FormData();
    form.set('camera_id', 'door');
    form.set('threshold', '');
    form.set('manifest', 'file,captured_at\na.jpg,2026-11-23T08:00:00Z');
    form.append('frames', photoFile);
    const res = await svc.app.request('/api/v1/attendance', { method: 'POST', body: form });
    assert.equal((await expectError(res, 400, 'INVALID_REQUEST')).field, 'threshold');
  });

  it('an enrollment mode other than add or replace is refused, not read as add', async () => {
    for (const mode of ['REPLACE', 'merge', '']) {
      const form = new FormData();
      form.set('mode', mode);
      form.set('manifest', 'user_id,name,file\np1,Person One,a.jpg');
      form.append('photos', photoFile);
      const res = await svc.app.request('/api/v1/enrollments', { method: 'POST', body: form });
      assert.equal((await expectError(res, 400, 'INVALID_REQUEST')).field, 'mode', mode);
    }
  });
});

describe('storage faults at intake', () => {
  it('a read-only DATA_DIR answers 503 SERVICE_UNAVAILABLE (retry later), not 500', async (t) => {
    const blobs = join(svc.config.dataDir, 'blobs');
    mkdirSync(blobs, { recursive: true });
    if (!canFreeze(blobs)) return t.skip('cannot make a folder immutable here');
    freeze(blobs);
    try {
      const res = await postJson(svc.app, '/api/v1/jobs/embed', {
        items: [{ image: b64(lfw('Aaron_Peirsol')) }],
      });
      await expectError(res, 503, 'SERVICE_UNAVAILABLE');
    } finally {
      thaw(blobs);
    }
  });
});
