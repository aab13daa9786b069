/**
 * Shelia on a real Redis Cluster: three masters from redis-server on loopback (no replicas),
 * REDIS_CLUSTER=true with REDIS_URL one of them, KEY_PREFIX hash-tagged. The API and a worker
 * run a sync /embed of a real photo and an enrollment batch (a BullMQ flow across two queues)
 * to its final status; every key Shelia wrote sits in one slot. A prefix without a hash tag, a
 * cluster node without REDIS_CLUSTER=true and REDIS_CLUSTER=true on a single server are each
 * refused at start-up in one line (BullMQ fails obscurely otherwise); /health notices the death
 * of the master holding the prefix's slot.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobGateway } from '../../src/api/job-gateway.js';
import { loadConfig } from '../../src/shared/config.js';
import { masters } from '../../src/shared/redis-client.js';
import { enrollAndWait, firstIdentities, getUser, item, lfw, notAnImage } from '../helpers/batches.js';
import { modelsDir, repoRoot } from '../helpers/faces.js';
import { clusterUnavailable, startPrivateCluster, type PrivateCluster } from '../helpers/private-cluster.js';
import {
  freshPrefix,
  json,
  postJson,
  REDIS_URL,
  startService,
  waitFor,
  type TestService,
} from '../helpers/service.js';

const skip = clusterUnavailable() ?? false;
/** LFW people whose first photo enrolls (the measured outcomes of test/helpers/batches.ts). */
const PEOPLE = firstIdentities(12)
  .filter((p) => p.expected === 'ENROLLED')
  .slice(0, 4)
  .map((p) => p.name);

describe('on a 3-master Redis Cluster with a hash-tagged KEY_PREFIX', { skip }, () => {
  let cluster: PrivateCluster;
  let svc: TestService;
  before(async () => {
    cluster = await startPrivateCluster(3);
    svc = await startService({
      env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', KEY_PREFIX: `{${freshPrefix('cluster')}}` },
    });
  });
  after(async () => {
    const left = await svc?.stop();
    await cluster?.stop();
    assert.equal(left, 0, 'connections the service left open');
  });

  it('answers a sync /embed of a real photo', async () => {
    const res = await postJson(svc.app, '/api/v1/embed', { image: lfw('Aaron_Peirsol').toString('base64') });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await json<{ embedding: number[] }>(res);
    assert.equal(body.embedding.length, 512);
  });

  it('runs an enrollment batch to completed_with_errors with each item its outcome', async () => {
    const { final, items } = await enrollAndWait(svc.app, {
      items: [...PEOPLE.map((p) => item(p, lfw(p), 'cluster')), item('bad-text', notAnImage)],
    });
    assert.equal(final.status, 'completed_with_errors');
    assert.deepEqual(
      items.map((r) => [r.ref, r.outcome]),
      [...PEOPLE.map((p) => [p, 'ENROLLED']), ['bad-text', 'INVALID_IMAGE']],
    );
    for (const p of PEOPLE) assert.equal((await getUser(svc.app, p)).templates.length, 1, p);
  });

  it('kept every key it wrote in one slot, on one master', async () => {
    const keys = await svc.keys();
    assert.ok(keys.length > 0, 'no keys found under the prefix');
    const slots = new Set(
      await Promise.all(keys.map(async (k) => Number(await svc.redis.call('CLUSTER', 'KEYSLOT', k)))),
    );
    assert.equal(slots.size, 1, `keys in slots ${[...slots].join(', ')}`);
    const holding = await Promise.all(masters(svc.redis).map(async (n) => Number(await n.dbsize())));
    assert.equal(holding.filter((n) => n > 0).length, 1, `keys per master: ${holding.join(', ')}`);
  });

  it('refuses to start with a KEY_PREFIX without a hash tag, in one line', async () => {
    const env = { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', KEY_PREFIX: 'shelia' };
    assert.deepEqual(await apiStartError(env), [
      'shelia-api: invalid configuration: KEY_PREFIX: with REDIS_CLUSTER=true it must hold a hash tag, ' +
        "e.g. {shelia}, so that all of Shelia's keys land in one slot (BullMQ's scripts use several keys at once) " +
        '(see Redis Cluster in README.md)',
    ]);
  });

  it('refuses to start on a cluster node without REDIS_CLUSTER=true, in one line', async () => {
    // Before: every add failed with `MOVED 5669 127.0.0.1:42995` (or CROSSSLOT), as 503s.
    assert.deepEqual(await apiStartError({ REDIS_URL: cluster.url, KEY_PREFIX: '{shelia}' }), [
      `shelia-api: REDIS_URL (127.0.0.1:${cluster.ports[0]}) is a node of a Redis Cluster: ` +
        'set REDIS_CLUSTER=true and a hash-tagged KEY_PREFIX, e.g. {shelia}',
    ]);
  });
});

describe('REDIS_CLUSTER=true on a single Redis server', () => {
  it('refuses to start, in one line', async () => {
    const u = new URL(REDIS_URL);
    assert.deepEqual(await apiStartError({ REDIS_URL, REDIS_CLUSTER: 'true', KEY_PREFIX: '{shelia}' }), [
      `shelia-api: REDIS_CLUSTER=true but REDIS_URL (${u.hostname}:${u.port || 6379}) is not a cluster node ` +
        '(cluster_enabled:0): unset REDIS_CLUSTER',
    ]);
  });
});

/** The API entry point's stderr lines, once it has exited 1 at start-up with `env`. */
async function apiStartError(env: Record<string, string>): Promise<string[]> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/src/api/main.js')], {
    env: { PATH: process.env.PATH ?? '', MODELS_DIR: modelsDir, LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(timer);
  assert.equal(code, 1, stderr);
  return stderr.split('\n').filter((l) => l.trim() !== '');
}

describe("on a Redis Cluster whose master of the prefix's slot dies", { skip }, () => {
  let cluster: PrivateCluster;
  let jobs: JobGateway;
  before(async () => {
    cluster = await startPrivateCluster(3);
  });
  after(async () => {
    await jobs?.close();
    await cluster?.stop();
  });

  it("/health's Redis ping fails, though the other masters still answer PING", async () => {
    const config = loadConfig({
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      KEY_PREFIX: `{${freshPrefix('cluster-down')}}`,
      MODELS_DIR: modelsDir,
    });
    jobs = new JobGateway(config);
    await jobs.ready(5000);
    assert.equal(await jobs.ping(500), true);
    const slot = Number(await jobs.redis.call('CLUSTER', 'KEYSLOT', `${config.keyPrefix}:x`));
    const shards = (await jobs.redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const port = shards.find(([from, to]) => from <= slot && slot <= to)?.[2][1];
    assert.ok(port !== undefined, `no master owns slot ${slot}`);
    process.kill(cluster.pids[cluster.ports.indexOf(port)] ?? 0, 'SIGKILL');
    // Before: PING went to any node, so /health said Redis was reachable (8 of 8 pings PONG over 8 s).
    await waitFor(async () => !(await jobs.ping(500)), 'the ping to fail', 10_000);
  });
});
