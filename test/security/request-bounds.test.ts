/**
 * Issue 13.2 (and 13.5, 13.11 where they share the cause): one request within the body limit
 * could kill the process or freeze the event loop. Counts are checked before per-element work,
 * nesting is bounded, one upload is used once, and /compare's arithmetic runs off the loop.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { lfw } from '../helpers/batches.js';
import { expectError, json, postJson, startService, type TestService } from '../helpers/service.js';

let svc: TestService;
before(async () => {
  svc = await startService();
});
after(async () => {
  await svc?.stop();
});

/** `n` copies of `element` as a JSON array, built without a million objects. */
const many = (n: number, element: string) => `[${`${element},`.repeat(n - 1)}${element}]`;

/** POSTs `body` over loopback HTTP; resolves to the status and the body text. */
function post(port: number, path: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `work`, returning its result, how long it took and the longest event-loop stall meanwhile. */
async function timed<T>(
  work: () => Promise<T>,
): Promise<{ value: T; ms: number; cpuMs: number; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 5);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const value = await work();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // CPU time, not wall time, for budgets: other processes on a loaded 2-core machine stretch
  // the wall clock (1.7 s seen at load 13.7) but not the work this request made us do.
  const cpuMs = (cpu.user + cpu.system) / 1000;
  // A handler that never yields runs entirely in microtasks: let the timer fire once more, so
  // a stall it suffered is recorded.
  await new Promise((r) => setTimeout(r, 30));
  clearInterval(tick);
  return { value, ms, cpuMs, stallMs };
}

describe('request bounds: counts before per-element work', () => {
  it('a /jobs/embed of 2 M tiny items is refused 413 BATCH_TOO_LARGE in well under a second', async () => {
    const body = `{"items":${many(2_000_000, '{"image":"AAAA"}')}}`;
    const { value: res, cpuMs } = await timed(() => postJson(svc.app, '/api/v1/jobs/embed', body));
    const err = await expectError(res, 413, 'BATCH_TOO_LARGE');
    assert.equal(err.max_items, 1000);
    assert.ok(cpuMs < 1500, `${cpuMs.toFixed(0)} ms of CPU`);
  });

  it('/enrollments (3 M items) and /attendance (2 M frames) are refused the same way', async () => {
    const enroll = `{"items":${many(3_000_000, '{"user_id":"u","name":"n","image":"AAAA"}')}}`;
    const frames = `{"camera_id":"c","frames":${many(2_000_000, '{"image":"AAAA","captured_at":"2026-01-01T00:00:00Z"}')}}`;
    for (const [path, body] of [
      ['/api/v1/enrollments', enroll],
      ['/api/v1/attendance', frames],
    ] as const) {
      const { value: res, cpuMs } = await timed(() => postJson(svc.app, path, body));
      await expectError(res, 413, 'BATCH_TOO_LARGE');
      assert.ok(cpuMs < 1500, `${path}: ${cpuMs.toFixed(0)} ms of CPU`);
    }
  });

  it('/compare over MAX_REFERENCES is refused 413 before the body is parsed', async () => {
    const body = `{"query_embedding":[1,0],"reference_embeddings":${many(300_000, '{"id":1,"embedding":[1,0]}')}}`;
    const { value: res, cpuMs } = await timed(() => postJson(svc.app, '/api/v1/compare', body));
    assert.equal((await expectError(res, 413, 'TOO_MANY_REFERENCES')).max_references, 100_000);
    assert.ok(cpuMs < 1500, `${cpuMs.toFixed(0)} ms of CPU`);
  });

  it('a body nested 5,000 deep (in metadata) is 400 INVALID_REQUEST, not 503', async () => {
    const metadata = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const body = `{"items":[{"user_id":"deep","name":"Deep","image":"${lfw('Aaron_Peirsol').toString('base64')}","metadata":${metadata}}]}`;
    const err = await expectError(
      await postJson(svc.app, '/api/v1/enrollments', body),
      400,
      'INVALID_REQUEST',
    );
    assert.match(err.error, /nested deeper/);
  });

  it('enrollment metadata is capped in size (it is copied into the store and the job)', async () => {
    const body = {
      items: [
        {
          user_id: 'big_meta',
          name: 'Big',
          image: lfw('Aaron_Peirsol').toString('base64'),
          metadata: { note: 'x'.repeat(100_000) },
        },
      ],
    };
    const err = await expectError(
      await postJson(svc.app, '/api/v1/enrollments', body),
      400,
      'INVALID_REQUEST',
    );
    assert.equal(err.field, 'items.0.metadata');
  });
});

describe('request bounds: multipart manifests', () => {
  const file = (name: string) =>
    new File([new Uint8Array(lfw('Aaron_Peirsol'))], name, { type: 'image/jpeg' });
  const post = (manifest: string) => {
    const form = new FormData();
    form.set('manifest', manifest);
    form.append('photos', file('a.jpg'));
    form.append('photos', file('b.jpg'));
    return svc.app.request('/api/v1/enrollments', { method: 'POST', body: form });
  };

  it('one person may not bring more photos than a JSON item may (10)', async () => {
    const rows = Array.from({ length: 11 }, () => 'p1,Person One,a.jpg');
    const err = await expectError(
      await post(['user_id,name,file', ...rows].join('\n')),
      400,
      'INVALID_REQUEST',
    );
    assert.equal(err.max_photos_per_person, 10);
  });

  it('a manifest that names one uploaded file twice is refused, nothing written', async () => {
    const manifest = ['user_id,name,file', 'p1,Person One,a.jpg', 'p2,Person Two,a.jpg'].join('\n');
    const err = await expectError(await post(manifest), 400, 'INVALID_REQUEST');
    assert.match(err.error, /a\.jpg more than once/);
  });

  it('a manifest of more people than MAX_BATCH_ITEMS is refused before any file is read', async () => {
    const rows = Array.from({ length: 1001 }, (_, i) => `p${i},Person ${i},f${i}.jpg`);
    await expectError(await post(['user_id,name,file', ...rows].join('\n')), 413, 'BATCH_TOO_LARGE');
  });
});

describe('/compare', () => {
  const unit = (i: number) => Array.from({ length: 512 }, (_, k) => Math.sin(i * 7.1 + k));

  it('24,000 references of 512 floats (242 MB) do not stall the event loop for other callers', async () => {
    const body = Buffer.from(
      JSON.stringify({
        query_embedding: unit(0),
        reference_embeddings: Array.from({ length: 24_000 }, (_, i) => ({ id: i, embedding: unit(i) })),
      }),
    );
    // Over a real socket: an in-process Request spends ~1 s of the loop encoding such a body.
    const server = serve({ fetch: svc.app.fetch, hostname: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const { value, stallMs, ms } = await timed(() => post(port, '/api/v1/compare', body));
      assert.equal(value.status, 200, value.text.slice(0, 300));
      assert.equal((JSON.parse(value.text) as { best_match: { id: number } }).best_match.id, 0);
      // Measured on a loaded 2-core machine: before, the loop stalled for 95 % of the call
      // (2.5-3.5 s of 3.6 s); after, 4-6 % (0.6-0.85 s of 14-21 s, reading the body and GC).
      assert.ok(stallMs < ms * 0.3, `the loop stalled ${stallMs.toFixed(0)} of ${ms.toFixed(0)} ms`);
    } finally {
      server.close();
    }
  });

  it('computes huge and tiny (but normalisable) vectors stably: finite, in [0, 2]', async () => {
    for (const scale of [1e200, 1e-200]) {
      const res = await postJson(svc.app, '/api/v1/compare', {
        query_embedding: [scale, scale],
        reference_embeddings: [
          { id: 'same', embedding: [scale, scale] },
          { id: 'opposite', embedding: [-scale, -scale] },
        ],
        top_k: 2,
      });
      assert.equal(res.status, 200);
      const body = await json<{ matches: { id: string; distance: number }[] }>(res);
      const d = Object.fromEntries(body.matches.map((m) => [m.id, m.distance]));
      assert.ok(Math.abs((d.same as number) - 0) < 1e-9, `scale ${scale}: ${JSON.stringify(d)}`);
      assert.ok(Math.abs((d.opposite as number) - 2) < 1e-9, `scale ${scale}: ${JSON.stringify(d)}`);
    }
  });
});
