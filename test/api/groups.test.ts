/**
 * GET /api/v1/groups: the group names a caller can pass to /identify, /attendance and
 * GET /users?group=, each with its user count, without paging through every user.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TemplateInput } from '../../src/shared/store/types.js';
import { expectError, json, startService, type TestService } from '../helpers/service.js';

let svc: TestService;
before(async () => {
  svc = await startService({ worker: false, env: { API_KEYS: 'groups-key-7c1e' } });
});
after(async () => {
  await svc?.stop();
});

const get = (key?: string) => svc.app.request('/api/v1/groups', { headers: key ? { 'x-api-key': key } : {} });

function template(sha: string): TemplateInput {
  const embedding = new Float32Array(512).fill(1 / Math.sqrt(512));
  return {
    model: 'test',
    embedding,
    detection_score: 0.99,
    quality: { face_size: 160, sharpness: 40 },
    photo_sha256: sha,
  };
}

describe('GET /api/v1/groups', () => {
  it('is [] before anyone is enrolled, and needs the key like every other route', async () => {
    await expectError(await get(), 401, 'UNAUTHORIZED');
    const res = await get('groups-key-7c1e');
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { groups: [] });
  });

  it('lists each group with its users, by name, the ungrouped last, and follows erasure', async () => {
    for (const [id, group] of [
      ['a1', 'site-north'],
      ['a2', 'site-north'],
      ['b1', 'night-shift'],
      ['c1', null],
    ] as const) {
      await svc.store.enroll({ user_id: id, name: id, group, metadata: {} }, template(id), 'add');
    }
    assert.deepEqual(await json(await get('groups-key-7c1e')), {
      groups: [
        { group: 'night-shift', users: 1 },
        { group: 'site-north', users: 2 },
        { group: null, users: 1 },
      ],
    });
    await svc.store.deleteUser('b1');
    assert.deepEqual(await json(await get('groups-key-7c1e')), {
      groups: [
        { group: 'site-north', users: 2 },
        { group: null, users: 1 },
      ],
    });
  });
});
