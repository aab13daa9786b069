/**
 * Refusals are outcomes, not failures: a batch of a photo with no face and a duplicate person
 * (DUPLICATE_POLICY=reject) leaves BullMQ's failed set empty (shelia_queue_jobs{state="failed"}
 * 0, which a failed-job alert reads) and counts one of each in shelia_items_total. The same for
 * a sync /embed refused for its photo. The API's answers stay as they were.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { METRICS } from '../../src/shared/metrics-names.js';
import { b64, enrollAndWait, greyJpeg, item, lfw } from '../helpers/batches.js';
import { postJson, startService, type TestService } from '../helpers/service.js';

async function metricValue(svc: TestService, name: string, labels: Record<string, string>): Promise<number> {
  const metric = svc.registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('item outcomes and failed jobs', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService({ env: { DUPLICATE_POLICY: 'reject' } });
  });
  after(async () => {
    await svc.stop();
  });

  it('a no-face photo and a duplicate leave failed=0 and count one of each outcome', async () => {
    const first = await enrollAndWait(svc.app, { items: [item('Alan_Greenspan', lfw('Alan_Greenspan', 1))] });
    assert.equal(first.items[0]?.outcome, 'ENROLLED');
    const { final, items } = await enrollAndWait(svc.app, {
      items: [item('grey', await greyJpeg()), item('greenspan-2', lfw('Alan_Greenspan', 2))],
    });
    // What the API says about the batch is unchanged by where the refusal is counted.
    assert.deepEqual(
      items.map((r) => [r.ref, r.outcome, r.ok]),
      [
        ['grey', 'NO_FACE_DETECTED', false],
        ['greenspan-2', 'DUPLICATE_PERSON', false],
      ],
    );
    assert.equal(final.status, 'failed');
    assert.deepEqual(final.progress, { total: 2, done: 2, failed: 2 });

    assert.equal(await metricValue(svc, METRICS.queueDepth, { state: 'failed' }), 0, 'no failed BullMQ job');
    assert.equal(await metricValue(svc, METRICS.jobs, { outcome: 'failed' }), 0);
    // Both people were in one queue job (ENROLL_PEOPLE_PER_JOB), refused as a whole.
    assert.equal(await metricValue(svc, METRICS.jobs, { name: 'enroll-items', outcome: 'refused' }), 1);
    const items_ = (outcome: string, result: string) =>
      metricValue(svc, METRICS.items, { kind: 'enrollment', outcome, result });
    assert.equal(await items_('NO_FACE_DETECTED', 'refused'), 1);
    assert.equal(await items_('DUPLICATE_PERSON', 'refused'), 1);
    assert.equal(await items_('ENROLLED', 'ok'), 1);
    assert.equal(await metricValue(svc, METRICS.items, { result: 'failed' }), 0);
  });

  it('a sync /embed refused for its photo answers 422 as before and is no failed job', async () => {
    const res = await postJson(svc.app, '/api/v1/embed', { image: b64(await greyJpeg()) });
    assert.equal(res.status, 422, await res.clone().text());
    assert.equal(((await res.json()) as { error_code: string }).error_code, 'NO_FACE_DETECTED');
    assert.equal(await metricValue(svc, METRICS.jobs, { name: 'embed', outcome: 'refused' }), 1);
    assert.equal(await metricValue(svc, METRICS.queueDepth, { state: 'failed' }), 0);
  });
});
