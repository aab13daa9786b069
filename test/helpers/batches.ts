/**
 * Batch fixtures for the end-to-end tests: LFW identities with the outcome their first photo
 * gets (measured), synthetic bad photos, and the submit / poll / page helpers over the app.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import type { RedisClient } from '../../src/shared/redis-client.js';
import sharp from 'sharp';
import type { JobStatus } from '../../src/shared/schemas.js';
import { composite, identities, photo } from './faces.js';
import { json, postJson, type Env } from './service.js';

export const b64 = (buf: Buffer) => buf.toString('base64');
export const sha = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');
/** 200 characters from the middle of a photo's base64: found in Redis only if the photo is. */
export const fragment = (buf: Buffer) => b64(buf).slice(4000, 4200);

/** One JSON enrollment item; the name is the id with spaces for underscores. */
export const item = (user_id: string, image: Buffer | string, group?: string) => ({
  user_id,
  name: user_id.replace(/_/g, ' '),
  image: typeof image === 'string' ? image : b64(image),
  ...(group ? { group } : {}),
});

/**
 * The first photos of the first 300 lfw-dev identities (sorted by name) that do not enroll with
 * the default gates, measured with `npm run bench:multiple-faces` (the pipeline on every one of
 * them): 13 show a second face over 0.7x the main face's height that the border does not cut
 * (the old rule, any second face of 0.5x, refused 28) and one is too blurry (sharpness 11.97 <
 * 15). Every other first photo enrolls, 15 of them ignoring a bystander; no two accepted first
 * photos of the first 100 are within the duplicate threshold (at most 0.59; the closest pair is
 * at 0.652).
 */
const FIRST_PHOTO_REJECTS: Record<string, string> = {
  Doris_Schroeder: 'LOW_QUALITY:too_blurry',
  ...Object.fromEntries(
    `
    Alex_Penelas Alison_Krauss Andrew_Niccol Candice_Beatty Charlie_Deane Chok_Tong_Goh David_Bell
    David_Chase Diane_Green Dorthy_Moxley Eric_Hinske Franklin_Damann Franko_Simatovic
    `
      .trim()
      .split(/\s+/)
      .map((name) => [name, 'MULTIPLE_FACES']),
  ),
};

/**
 * First photos the old rule refused MULTIPLE_FACES that now enroll, ignoring their bystanders
 * (measured height ratio to the subject): each identity has a second photo to check against.
 */
export const BYSTANDER_PHOTOS = [
  'Alvaro_Silva_Calderon', // 0.571x, 11 px from the border, and a 0.444x face
  'Benjamin_Netanyahu', // 0.645x, 5 px from the border
  'Frances_Fisher', // 0.925x, cut by the border
];

/** The first `n` (<= 300) identities of lfw-dev by name, each with its measured first-photo outcome. */
export function firstIdentities(n: number): { name: string; expected: string }[] {
  assert.ok(n <= 300, 'outcomes are measured for the first 300 identities only');
  return identities(1)
    .slice(0, n)
    .map(({ name }) => ({ name, expected: FIRST_PHOTO_REJECTS[name] ?? 'ENROLLED' }));
}

/** `outcome` or `outcome:gate` of a result, to compare with the measured table. */
export const outcomeOf = (r: ItemResultBody) =>
  typeof r.gate === 'string' ? `${r.outcome}:${r.gate}` : r.outcome;

// ---- synthetic photos -----------------------------------------------------------------------

export const greyJpeg = () =>
  sharp({ create: { width: 200, height: 200, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .jpeg()
    .toBuffer();

/** Two LFW photos side by side at full size: two faces of similar size (138 and 120 px). */
export const twoFaces = () =>
  composite({
    width: 500,
    height: 250,
    faces: [
      { name: 'Aaron_Peirsol', n: 1, left: 0, top: 0, side: 250 },
      { name: 'Abdullah_Gul', n: 1, left: 250, top: 0, side: 250 },
    ],
  });

/**
 * Two LFW photos at full size, the first in the middle of a 750 px frame and the second beside
 * it: a central face and another of similar size (0.94x) well inside the frame: ambiguous.
 */
export const twoFacesCentred = () =>
  composite({
    width: 750,
    height: 250,
    faces: [
      { name: 'Aaron_Peirsol', n: 1, left: 250, top: 0, side: 250 },
      { name: 'Abdullah_Gul', n: 1, left: 500, top: 0, side: 250 },
    ],
  });

/**
 * One LFW photo at full size in the middle of a 500 px frame and another at 150 px in its top
 * left corner: a central subject and a bystander 0.57x its height, away from the border.
 */
export const withBystander = () =>
  composite({
    width: 500,
    height: 500,
    faces: [
      { name: 'Aaron_Peirsol', n: 1, left: 125, top: 125, side: 250 },
      { name: 'Abdullah_Gul', n: 1, left: 0, top: 0, side: 150 },
    ],
  });

/** An LFW photo shrunk to 62 px on a grey 250 px frame: a sharp face about 32 px tall. */
export const tinyFace = () =>
  composite({
    width: 250,
    height: 250,
    faces: [{ name: 'Aaron_Peirsol', n: 1, left: 100, top: 100, side: 62 }],
  });

export const notAnImage = Buffer.from('name,photo\nthis is a CSV file, not a photo\n');

export const lfw = (name: string, n = 1) => photo(name, n);

// ---- API helpers ----------------------------------------------------------------------------

export interface Accepted {
  job_id: string;
  status_url: string;
  items: number;
}

export interface ItemResultBody {
  index: number;
  ref: string | null;
  outcome: string;
  ok: boolean;
  finished_at: string;
  [detail: string]: unknown;
}

export interface UserBody {
  user_id: string;
  name: string;
  group: string | null;
  templates: { template_id: string; photo_sha256: string }[];
}

/** POST /api/v1/enrollments, asserting the 202 contract. */
export async function enroll(app: Hono, body: unknown, headers: Env = {}): Promise<Accepted> {
  const res = await postJson(app, '/api/v1/enrollments', body, headers);
  assert.equal(res.status, 202, await res.clone().text());
  const accepted = await json<Accepted>(res);
  assert.match(accepted.job_id, /^job_[0-9a-f]{32}$/);
  assert.equal(accepted.status_url, `/api/v1/jobs/${accepted.job_id}`);
  return accepted;
}

/** Submits a batch, waits for its end, and returns its final status and every result. */
export async function enrollAndWait(
  app: Hono,
  body: unknown,
  headers: Env = {},
): Promise<{ accepted: Accepted; final: JobStatus; items: ItemResultBody[] }> {
  const accepted = await enroll(app, body, headers);
  const final = (await untilFinished(app, accepted.job_id)).at(-1) as JobStatus;
  return { accepted, final, items: (await results(app, accepted.job_id)).items };
}

export async function status(app: Hono, jobId: string): Promise<JobStatus> {
  const res = await app.request(`/api/v1/jobs/${jobId}`);
  assert.equal(res.status, 200, await res.clone().text());
  return json<JobStatus>(res);
}

const FINAL = new Set(['completed', 'completed_with_errors', 'failed']);

/** Polls the job until it is final; returns every status body seen, in order. */
export async function untilFinished(app: Hono, jobId: string, timeoutMs = 60_000): Promise<JobStatus[]> {
  const seen: JobStatus[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(app, jobId);
    seen.push(s);
    if (FINAL.has(s.status)) return seen;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${s.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every result of a job, paged with `limit`; also how many pages that took. */
export async function results(
  app: Hono,
  jobId: string,
  limit = 100,
): Promise<{ items: ItemResultBody[]; pages: number }> {
  const items: ItemResultBody[] = [];
  let pages = 0;
  for (let cursor: string | null = null; ;) {
    const q = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await app.request(`/api/v1/jobs/${jobId}/results?${q}`);
    assert.equal(res.status, 200, await res.clone().text());
    const page = await json<{ job_id: string; items: ItemResultBody[]; next_cursor: string | null }>(res);
    assert.equal(page.job_id, jobId);
    assert.ok(page.items.length <= limit);
    items.push(...page.items);
    pages++;
    if (!page.next_cursor) return { items, pages };
    cursor = page.next_cursor;
  }
}

export async function getUser(app: Hono, userId: string): Promise<UserBody> {
  const res = await app.request(`/api/v1/users/${encodeURIComponent(userId)}`);
  assert.equal(res.status, 200, await res.clone().text());
  return json<UserBody>(res);
}

/** Every user (of a group), paged with `limit`. */
export async function listUsers(
  app: Hono,
  limit: number,
  group?: string,
): Promise<{ users: UserBody[]; pages: number }> {
  const users: UserBody[] = [];
  let pages = 0;
  for (let cursor: string | null = null; ;) {
    const params = new URLSearchParams({ limit: String(limit) });
    if (group !== undefined) params.set('group', group);
    if (cursor) params.set('cursor', cursor);
    const res = await app.request(`/api/v1/users?${params.toString()}`);
    assert.equal(res.status, 200, await res.clone().text());
    const page = await json<{ items: UserBody[]; next_cursor: string | null }>(res);
    users.push(...page.items);
    pages++;
    if (!page.next_cursor) return { users, pages };
    cursor = page.next_cursor;
  }
}

/** Everything stored under the given Redis keys, as text (whatever the key's type). */
export async function redisText(redis: RedisClient, keys: string[]): Promise<string> {
  const parts: string[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'string') parts.push((await redis.get(key)) ?? '');
    else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
    else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
    else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, '0', '-1')));
    else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
  }
  return parts.join('\n');
}
