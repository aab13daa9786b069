import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BatchJob,
  ItemResult,
  Sighting,
  TemplateInput,
  UserInput,
  WebhookDelivery,
} from '../../../../src/shared/store/store.js';

/** What the conformance tests of several repositories build their data from. */

/** Attendance times: minutes after T0, as ISO strings. */
export const T0 = Date.parse('2026-03-02T09:00:00.000Z');
export const WINDOW = 5 * 60_000;
export const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
/** Every arrival order of three sightings. */
export const ARRIVAL_ORDERS = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
] as const;
export const round4 = (v: number) => Math.round(v * 10000) / 10000;

/**
 * A match of u1 on cam-1, `minutes` after T0: confirming (distance 0.2, at most 0.3) but not
 * strong (over 0.15): two of them confirm a record, one does not.
 */
export function sighting(id: string, minutes: number, over: Partial<Sighting> = {}): Sighting {
  return {
    sighting_id: id,
    kind: 'match',
    user_id: 'u1',
    name: 'Name u1',
    group: 'g1',
    camera_id: 'cam-1',
    captured_at: at(minutes),
    similarity: 0.8,
    distance: 0.2,
    margin: 0.25,
    threshold: 0.59,
    confirm_threshold: 0.3,
    strong_threshold: 0.15,
    bbox: { x: 10, y: 20, width: 100, height: 120 },
    thumbnail: `thumbs/${id}.jpg`,
    embedding: null,
    job_id: 'job-1',
    ...over,
  };
}

/**
 * A match of u2 on cam-1 at 09:03 (strong: distance 0.1, at most 0.45) of batch job-new: what
 * the backend tests chain onto an attendance record written in a store's older layout.
 */
export const CHAINING_SIGHTING: Sighting = sighting('new-1', 3, {
  user_id: 'u2',
  name: 'Name u2',
  group: null,
  similarity: 0.9,
  distance: 0.1,
  margin: 0.3,
  confirm_threshold: 0.5,
  strong_threshold: 0.45,
  bbox: { x: 1, y: 1, width: 9, height: 9 },
  thumbnail: null,
  job_id: 'job-new',
});

/** The fields of a gallery entry, sorted. */
export const GALLERY_ENTRY_KEYS = ['embedding', 'group', 'model', 'name', 'template_id', 'user_id'];

/**
 * Every page of a keyset listing, following next_cursor from the first page (at most 10 pages;
 * every next_cursor a string until the last page's null).
 */
export async function pagesOf<T>(
  list: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 10; n++) {
    const page = await list(cursor);
    pages.push(page.items);
    if (page.next_cursor === null) break;
    assert.equal(typeof page.next_cursor, 'string');
    cursor = page.next_cursor;
  }
  return pages;
}

/** `f` started after `ms` milliseconds: calls that overlap in a known order. */
export async function later<T>(ms: number, f: () => Promise<T>): Promise<T> {
  await sleep(ms);
  return f();
}

export function user(id: string, group: string | null = 'g1'): UserInput {
  return { user_id: id, name: `Name ${id}`, group, metadata: { source: 'test' } };
}

/** Deterministic, distinct per seed. */
export function embedding(seed: number): Float32Array {
  return Float32Array.from({ length: 512 }, (_, i) => Math.sin((i + 1) * seed * 0.731) / 22.6);
}

export function template(photo: string, emb: Float32Array = embedding(1)): TemplateInput {
  return {
    model: 'arcface-test',
    embedding: emb,
    detection_score: 0.97,
    quality: { face_size: 180, sharpness: 42.5 },
    photo_sha256: photo,
  };
}

export function bytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function job(id: string): BatchJob {
  return {
    job_id: id,
    type: 'enrollment',
    total: 3,
    status: 'queued',
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: null,
    finished_at: null,
    webhook_url: 'https://example.com/hook',
    webhook_secret: 'whsec_dGVzdA==',
    photos: 'stored',
    failure_reason: null,
  };
}

export function item(jobId: string, index: number, ok: boolean, outcome: string): ItemResult {
  return {
    job_id: jobId,
    index,
    ref: index % 3 === 0 ? null : `ref-${index}`,
    outcome,
    ok,
    detail: ok ? { index } : { error: { code: outcome } },
    finished_at: `2026-01-01T00:00:${String(10 + index).padStart(2, '0')}.000Z`,
  };
}

export function delivery(id: string, attempt: number, at: string, delivered: boolean): WebhookDelivery {
  return {
    delivery_id: id,
    job_id: 'job-1',
    event: 'batch.completed',
    url: 'https://example.com/hook',
    attempt,
    status_code: delivered ? 200 : 503,
    error: delivered ? null : 'HTTP 503',
    delivered,
    at,
  };
}
