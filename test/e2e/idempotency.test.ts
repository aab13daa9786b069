/**
 * Idempotency-Key on POST /api/v1/enrollments end to end: concurrent duplicates, a reused key
 * with another body, and a replay after the batch has finished.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { CLAIM_EXPIRY_MS } from '../../src/api/idempotency.js';
import { enroll, getUser, item, lfw, results, untilFinished, type Accepted } from '../helpers/batches.js';
import { expectError, json, postJson, startService, type TestService } from '../helpers/service.js';

describe('Idempotency-Key on batch enrollment', () => {
  let svc: TestService;
  /** The service's own SQLite store, read-only: how many batches it really holds. */
  let db: Database.Database | undefined;
  let mongo: MongoClient | undefined;
  const KEY = 'enroll-2024-06-01-run-1';
  const body = JSON.stringify({
    items: [item('idem-peirsol', lfw('Aaron_Peirsol'))],
    webhook_url: 'https://hooks.example.test/shelia',
    webhook_secret: 'whsec_aWRlbXBvdGVuY3ktdGVzdC1zZWNyZXQ=',
  });
  const post = (payload: string, key = KEY) =>
    postJson(svc.app, '/api/v1/enrollments', payload, { 'idempotency-key': key });
  /** Every batch in the store, read behind the API's back (SQLite file, or the Mongo database). */
  const batches = async (): Promise<string[]> => {
    if (mongo) {
      const docs = await mongo
        .db()
        .collection<{ job_id: string }>('jobs')
        .find({})
        .sort({ job_id: 1 })
        .toArray();
      return docs.map((d) => d.job_id);
    }
    return (db?.prepare('SELECT job_id FROM jobs ORDER BY job_id').all() as { job_id: string }[]).map(
      (r) => r.job_id,
    );
  };
  let first: Accepted;

  before(async () => {
    // The webhook host is allowed by name (no DNS look-up); its one delivery attempt just fails.
    const env = { WEBHOOK_ALLOW: 'hooks.example.test', WEBHOOK_RETRY_SCHEDULE_MS: '600000' };
    svc = await startService({ env });
    if (svc.config.mongodbUrl) mongo = await new MongoClient(svc.config.mongodbUrl).connect();
    else db = new Database(join(svc.config.dataDir, 'shelia.db'), { readonly: true });
  });
  after(async () => {
    db?.close();
    await mongo?.close();
    await svc?.stop();
  });

  it('20 concurrent requests with one key and body create exactly one job, all answered 202 with it', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => post(body)));
    const bodies = await Promise.all(
      responses.map(async (res) => {
        assert.equal(res.status, 202, await res.clone().text());
        return json<Accepted>(res);
      }),
    );
    first = bodies[0] as Accepted;
    assert.match(first.job_id, /^job_[0-9a-f]{32}$/);
    assert.equal('webhook_secret' in first, false, 'no secret is generated or returned');
    for (const b of bodies) assert.deepEqual(b, first);
    const replayed = responses.filter((r) => r.headers.get('idempotent-replayed') === 'true');
    assert.equal(replayed.length, 19, 'all but the first are replays');
    assert.deepEqual(await batches(), [first.job_id]);
    const final = (await untilFinished(svc.app, first.job_id)).at(-1);
    assert.deepEqual([final?.status, final?.progress], ['completed', { total: 1, done: 1, failed: 0 }]);
    const { items } = await results(svc.app, first.job_id);
    assert.deepEqual(
      items.map((r) => [r.ref, r.outcome]),
      [['idem-peirsol', 'ENROLLED']],
    );
    assert.equal((await getUser(svc.app, 'idem-peirsol')).templates.length, 1);
  });

  it('refuses the same key with a different body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const other = JSON.stringify({ items: [item('idem-gul', lfw('Abdullah_Gul'))] });
    await expectError(await post(other), 422, 'IDEMPOTENCY_KEY_REUSED');
    assert.deepEqual(await batches(), [first.job_id]);
  });

  it('replays the first response after the batch completed, creating nothing', async () => {
    const res = await post(body);
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await json<Accepted>(res), first);
    assert.deepEqual(await batches(), [first.job_id]);
    assert.equal((await getUser(svc.app, 'idem-peirsol')).templates.length, 1);
  });

  it('treats the same body under another key as a new request', async () => {
    const again = await enroll(svc.app, body, { 'idempotency-key': `${KEY}-b` });
    assert.notEqual(again.job_id, first.job_id);
    assert.deepEqual(await batches(), [first.job_id, again.job_id].sort());
    assert.equal((await untilFinished(svc.app, again.job_id)).at(-1)?.status, 'completed');
    assert.equal(
      (await getUser(svc.app, 'idem-peirsol')).templates.length,
      1,
      'the same photo is one template',
    );
  });

  it('takes over a claim whose request died before answering, instead of 503 forever', async () => {
    // A request claimed the key, then its process was killed: the claim has no response and
    // never will. Planted behind the API's back, made CLAIM_EXPIRY_MS + 1 s ago.
    const key = `${KEY}-died`;
    const claim = {
      key: `POST /api/v1/enrollments ${key}`,
      body_sha256: createHash('sha256').update(body).digest('hex'),
      response: null,
      created_at: new Date(Date.now() - CLAIM_EXPIRY_MS - 1000).toISOString(),
    };
    if (mongo) await mongo.db().collection('idempotency').insertOne(claim);
    else {
      const rw = new Database(join(svc.config.dataDir, 'shelia.db'));
      rw.prepare(
        'INSERT INTO idempotency (key, body_sha256, response, created_at) VALUES (?, ?, NULL, ?)',
      ).run(claim.key, claim.body_sha256, claim.created_at);
      rw.close();
    }
    const retried = await post(body, key);
    assert.equal(retried.status, 202, await retried.clone().text());
    const accepted = await json<Accepted>(retried);
    assert.ok((await batches()).includes(accepted.job_id), 'the retry created the batch');
    // And the key now replays that response.
    const replay = await post(body, key);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await json<Accepted>(replay), accepted);
    assert.equal((await untilFinished(svc.app, accepted.job_id)).at(-1)?.status, 'completed');
  });
});
