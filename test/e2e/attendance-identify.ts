/**
 * POST /api/v1/identify on a frame of attendance.test.ts's scene (which calls `identifyCases`
 * with what it has set up), and its records helper.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Hono } from 'hono';
import type { AttendanceRecord } from '../../src/shared/store/index.js';
import { THRESHOLDS } from '../helpers/pack.js';
import { b64 } from '../helpers/batches.js';
import { attribute, type Box, type Shot } from '../helpers/frames.js';
import { json, postJson } from '../helpers/service.js';
import type { Seen } from './attendance-evidence.js';

const HIGH = THRESHOLDS.cosine.high_security;
type Candidate = { user_id: string; name: string; distance: number; similarity: number };
export type Identified = { faces: { bbox: Box; is_match: boolean; candidates: Candidate[] }[] };

/** user_id -> its records as sorted "timestamp|last_seen|sightings|status". */
export function byUser(records: AttendanceRecord[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of records)
    (out[r.user_id ?? ''] ??= []).push(`${r.timestamp}|${r.last_seen}|${r.sightings}|${r.status}`);
  for (const v of Object.values(out)) v.sort();
  return out;
}

export interface IdentifyScene {
  app: Hono;
  shots: Shot[];
  seen: Map<string, Seen[]>;
  recognisable: Set<string>;
  groupOf: (name: string) => string;
  displayName: (name: string) => string;
}

export function identifyCases(scene: () => IdentifyScene): void {
  describe('POST /api/v1/identify on a camera frame', () => {
    const identify = async (body: Record<string, unknown>) => {
      const { shots } = scene();
      const image = b64(shots[0]?.frame.jpeg ?? Buffer.alloc(0));
      const res = await postJson(scene().app, '/api/v1/identify', {
        image,
        threshold: HIGH,
        top_k: 3,
        ...body,
      });
      assert.equal(res.status, 200, await res.clone().text());
      const { faces } = await json<Identified>(res);
      return attribute(shots[0]?.frame.faces ?? [], faces);
    };

    it('returns every face with its nearest users and is_match', async () => {
      const { seen, displayName, recognisable } = scene();
      const found = await identify({});
      assert.equal(found.length, (seen.get('cam-1') ?? []).filter((d) => d.shot === 0).length);
      for (const f of found.filter((x) => x.primary)) {
        assert.equal(f.candidates.length, 3);
        for (const c of f.candidates) {
          assert.equal(c.name, displayName(c.user_id));
          assert.ok(Math.abs(c.similarity - (1 - c.distance)) < 2e-4);
        }
        const d = f.candidates.map((c) => c.distance);
        assert.deepEqual(
          d,
          [...d].sort((a, b) => a - b),
        );
        assert.equal(f.is_match, (d[0] ?? 1) <= HIGH);
        const who = f.face?.name ?? '';
        if (recognisable.has(who)) assert.equal(f.candidates[0]?.user_id, who);
        assert.equal(f.is_match, recognisable.has(who), who);
      }
    });

    it('searches only the given group', async () => {
      const { groupOf, recognisable } = scene();
      const found = (await identify({ group: 'staff' })).filter((x) => x.primary);
      for (const f of found) {
        assert.ok(f.candidates.every((c) => groupOf(c.user_id) === 'staff'));
        const who = f.face?.name ?? '';
        assert.equal(f.is_match, recognisable.has(who) && groupOf(who) === 'staff', who);
      }
      const present = found.map((f) => f.face?.name ?? '').filter((n) => recognisable.has(n));
      assert.ok(present.some((n) => groupOf(n) === 'staff') && present.some((n) => groupOf(n) === 'guests'));
    });
  });
}
