/**
 * A multipart manifest with a wrong header is one 400 naming the missing column and the header
 * expected (it was `manifest row 1.user_id: ... undefined`), and a `;` manifest is read like a
 * `,` one (csv-parse, src/shared/csv.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lfw } from '../helpers/batches.js';
import { expectError, startService, type TestService } from '../helpers/service.js';

describe('multipart CSV manifests', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService({ worker: false });
  });
  after(() => svc?.stop());

  const upload = (manifest: string) => {
    const form = new FormData();
    form.append('manifest', manifest);
    form.append('a.jpg', new Blob([lfw('Aaron_Peirsol', 1)], { type: 'image/jpeg' }), 'a.jpg');
    return svc.app.request('/api/v1/enrollments', { method: 'POST', body: form });
  };

  it('a wrong header: 400 naming the missing column and the expected header', async () => {
    const err = await expectError(await upload('id,full name,file\nu1,A,a.jpg\n'), 400, 'INVALID_REQUEST');
    assert.equal(err.field, 'manifest');
    assert.equal(err.missing, 'user_id, name');
    assert.match(
      String(err.error),
      /^missing column user_id, name: expected a header user_id,name,file\[,group\], found id,full name,file$/,
    );
  });

  it('a semicolon manifest with a quoted name is accepted', async () => {
    const res = await upload('user_id;name;file\nu1;"Peirsol; Aaron";a.jpg\n');
    assert.equal(res.status, 202, await res.clone().text());
  });
});
