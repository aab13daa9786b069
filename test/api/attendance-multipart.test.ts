/**
 * Camera batches as multipart: a manifest (CSV or JSON) names the uploaded frame files; the
 * frames get the same processing as a JSON batch, a missing file fails only its frame.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enrollAndWait, item, lfw, results, untilFinished } from '../helpers/batches.js';
import { expectError, json, startService, type TestService } from '../helpers/service.js';

const frame = (name: string) =>
  new File([new Uint8Array(lfw(name, 2))], `${name}.jpg`, { type: 'image/jpeg' });

function upload(manifest: string | File, files: File[], fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.set('camera_id', 'door-1');
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('manifest', manifest);
  for (const f of files) form.append('frames', f);
  return form;
}

const post = (svc: TestService, form: FormData) =>
  svc.app.request('/api/v1/attendance', { method: 'POST', body: form });

describe('POST /api/v1/attendance as multipart', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService();
    await enrollAndWait(svc.app, {
      items: [item('Aaron_Peirsol', lfw('Aaron_Peirsol')), item('Abdullah_Gul', lfw('Abdullah_Gul'))],
    });
  });
  after(async () => svc?.stop());

  it('records the people in frames named by a CSV manifest; a missing file fails only its frame', async () => {
    const manifest = [
      'file,captured_at',
      'Aaron_Peirsol.jpg,2026-11-23T08:00:00Z',
      'Abdullah_Gul.jpg,2026-11-23T08:00:05+00:00',
      'gone.jpg,2026-11-23T08:00:09Z',
    ].join('\n');
    const res = await post(svc, upload(manifest, [frame('Aaron_Peirsol'), frame('Abdullah_Gul')]));
    assert.equal(res.status, 202);
    const { job_id } = await json<{ job_id: string }>(res);
    const final = (await untilFinished(svc.app, job_id)).at(-1);
    assert.equal(final?.status, 'completed_with_errors');
    const { items } = await results(svc.app, job_id, 10);
    assert.deepEqual(
      items.map((r) => r.outcome),
      ['PROCESSED', 'PROCESSED', 'INVALID_IMAGE'],
    );
    const records = await json<{ items: { user_id: string; timestamp: string; camera_id: string }[] }>(
      await svc.app.request('/api/v1/attendance?camera_id=door-1&kind=match'),
    );
    assert.deepEqual(records.items.map((r) => [r.user_id, r.timestamp]).sort(), [
      ['Aaron_Peirsol', '2026-11-23T08:00:00.000Z'],
      ['Abdullah_Gul', '2026-11-23T08:00:05.000Z'],
    ]);
  });

  it('accepts a JSON manifest sent as a file, and the same upload again replays the job', async () => {
    const manifest = new File(
      [JSON.stringify([{ file: 'Aaron_Peirsol.jpg', captured_at: '2026-11-23T09:00:00Z' }])],
      'm.json',
    );
    const send = () =>
      svc.app.request('/api/v1/attendance', {
        method: 'POST',
        body: upload(manifest, [frame('Aaron_Peirsol')]),
        headers: { 'idempotency-key': 'door-1-0900' },
      });
    const first = await json<{ job_id: string }>(await send());
    const again = await send();
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal((await json<{ job_id: string }>(again)).job_id, first.job_id);
  });

  it('answers 400 INVALID_REQUEST for a multipart body that cannot be parsed', async () => {
    const res = await svc.app.request('/api/v1/attendance', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="manifest"\r\n\r\nno closing boundary',
    });
    await expectError(res, 400, 'INVALID_REQUEST');
  });

  it('names the bad field: no manifest, a bad time, a bad threshold', async () => {
    const noManifest = new FormData();
    noManifest.set('camera_id', 'door-1');
    const a = await expectError(await post(svc, noManifest), 400, 'INVALID_REQUEST');
    assert.equal(a.field, 'manifest');
    const b = await expectError(
      await post(svc, upload('file,captured_at\nx.jpg,yesterday', [])),
      400,
      'INVALID_REQUEST',
    );
    assert.match(String(b.field), /^manifest\.0\.captured_at$/);
    const m = 'file,captured_at\nx.jpg,2026-11-23T08:00:00Z';
    const c = await expectError(await post(svc, upload(m, [], { threshold: '-1' })), 400, 'INVALID_REQUEST');
    assert.equal(c.field, 'threshold');
  });
});
