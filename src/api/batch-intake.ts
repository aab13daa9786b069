import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { ServiceError } from '../shared/errors.js';
import { decodeBase64Image } from '../shared/image-input.js';
import type { BatchChild, ItemJobName, JobData, ParentJobName } from '../shared/jobs/index.js';
import type { BatchType } from '../shared/store/index.js';
import { assertWebhookTarget } from '../shared/url-guard.js';
import { WebhookSecret } from '../shared/schemas.js';
import type { ApiDeps } from './deps.js';
import { idempotent } from './idempotency.js';
import type { ArrayLimit } from './json-prescan.js';
import { parseWith } from './validate.js';

/** One item of a batch as the intake sees it: its photos (bytes or a reason they are unusable). */
export interface IntakeItem<C extends ItemJobName = ItemJobName> {
  ref: string | null;
  photos: (Buffer | ServiceError)[];
  /**
   * The child job's payload, given the blob keys of its stored photos and, when some but not all
   * of its photos are unusable, those (by position): each photo of a person gets its own outcome.
   */
  data: (jobId: string, index: number, photoKeys: string[], refused: RefusedPhoto[]) => JobData<C>;
}

export interface RefusedPhoto {
  index: number;
  error: ServiceError;
}

export interface BatchAccepted {
  job_id: string;
  status_url: string;
  items: number;
}

/** More items than a batch may have (the prescan stops counting at the first one over). */
export function batchTooLarge(max: number): ServiceError {
  return new ServiceError('BATCH_TOO_LARGE', `more than ${max} items; the limit is ${max}`, {
    max_items: max,
  });
}

/** The prescan limit of a batch body's item array (`items` or `frames`). */
export function batchLimit(deps: ApiDeps, key: 'items' | 'frames'): ArrayLimit {
  const max = deps.config.maxBatchItems;
  return { key, max, error: () => batchTooLarge(max) };
}

/** Decodes a base64 photo; a bad one becomes that item's outcome instead of failing the batch. */
export function photoOrError(image: string, field: string): Buffer | ServiceError {
  try {
    return decodeBase64Image(image, field);
  } catch (err) {
    if (err instanceof ServiceError) return err;
    throw err;
  }
}

/** Several items in one child job: up to `size` consecutive items' payloads, as `data` makes them. */
export interface ItemPacking<C extends ItemJobName, P extends ItemJobName> {
  name: P;
  size: number;
  data: (jobId: string, items: JobData<C>[]) => JobData<P>;
}

/** What a batch route hands to acceptBatch: its job names, items and webhook. */
export interface BatchSpec<C extends ItemJobName, P extends ItemJobName = C> {
  type: BatchType;
  parent: ParentJobName;
  child: C;
  items: IntakeItem<C>[];
  /** Items packed several to a job (enrollment); the job's index is its first item's. */
  pack?: ItemPacking<C, P>;
  webhookUrl: string | undefined;
  /** The caller's own secret for webhookUrl (webhook_secret); see webhookSecretFor. */
  webhookSecret?: string | undefined;
}

/**
 * A batch route's answer: 202 with the accepted batch, once per Idempotency-Key (a repeat with
 * the same body replays it, see idempotent). `spec` is built only by the request that claims
 * the key, so a replay neither maps the items again nor takes a new accepted_at.
 */
export async function acceptBatchOnce<C extends ItemJobName, P extends ItemJobName = C>(
  c: Context,
  deps: ApiDeps,
  bodySha256: string,
  spec: () => BatchSpec<C, P>,
): Promise<Response> {
  return idempotent(c, deps.store, bodySha256, async () => ({
    status: 202,
    body: await acceptBatch(deps, spec()),
  }));
}

/**
 * Accepts a batch: photos go to the blob store, the batch to the store, one child job per
 * item to BullMQ (as a flow). Items whose photos are all unreadable get their outcome now and no
 * job; an item with some readable photos gets a job told about the others.
 * If anything fails before the flow is queued, what was written is removed again.
 */
async function acceptBatch<C extends ItemJobName, P extends ItemJobName>(
  deps: ApiDeps,
  spec: BatchSpec<C, P>,
): Promise<BatchAccepted> {
  const { config, store, blobs, jobs } = deps;
  if (spec.items.length > config.maxBatchItems) throw batchTooLarge(config.maxBatchItems);
  if (spec.webhookUrl) await assertWebhookTarget(spec.webhookUrl, config.webhook.allow);
  const job_id = `job_${randomUUID().replace(/-/g, '')}`;
  const webhook_secret = spec.webhookUrl
    ? await webhookSecretFor(deps, spec.webhookUrl, spec.webhookSecret)
    : null;
  const children: BatchChild<C>[] = [];
  try {
    await store.createJob({
      job_id,
      type: spec.type,
      total: spec.items.length,
      status: 'queued',
      created_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
      webhook_url: spec.webhookUrl ?? null,
      webhook_secret,
      photos: 'stored',
      failure_reason: null,
    });
    for (const [index, item] of spec.items.entries()) {
      const refused = item.photos.flatMap((p, n) =>
        p instanceof ServiceError ? [{ index: n, error: p }] : [],
      );
      const bad = refused[0]?.error;
      if (bad && refused.length === item.photos.length) {
        await store.putItemResult({
          job_id,
          index,
          ref: item.ref,
          outcome: bad.code,
          ok: false,
          detail: { error: bad.message, ...bad.details },
          finished_at: new Date().toISOString(),
        });
        continue;
      }
      const stored = item.photos.flatMap((p, n) =>
        p instanceof ServiceError ? [] : [{ key: `${job_id}/${index}-${n}`, p }],
      );
      await Promise.all(stored.map(({ key, p }) => blobs.put(key, p)));
      const keys = stored.map((s) => s.key);
      children.push({ name: spec.child, data: item.data(job_id, index, keys, refused), index });
    }
    const parent = { name: spec.parent, data: { job_id }, jobId: job_id };
    if (spec.pack) await jobs.addBatch(parent, packed(job_id, children, spec.pack));
    else await jobs.addBatch(parent, children);
  } catch (err) {
    const deleted = await blobs.deletePrefix(job_id).then(
      () => true,
      () => false,
    );
    await store
      .updateJob(job_id, {
        status: 'failed',
        finished_at: new Date().toISOString(),
        photos: deleted ? 'deleted' : 'deletion_failed',
        failure_reason: 'the batch could not be queued',
      })
      .catch(() => undefined);
    throw err;
  }
  deps.logger.info({ job: job_id, type: spec.type, items: spec.items.length }, 'batch accepted');
  return { job_id, status_url: `/api/v1/jobs/${job_id}`, items: spec.items.length };
}

/** Consecutive children, `size` to a job named `pack.name`, indexed by their first. */
function packed<C extends ItemJobName, P extends ItemJobName>(
  jobId: string,
  children: BatchChild<C>[],
  pack: ItemPacking<C, P>,
): BatchChild<P>[] {
  const out: BatchChild<P>[] = [];
  for (let i = 0; i < children.length; i += pack.size) {
    const part = children.slice(i, i + pack.size);
    const first = part[0] as BatchChild<C>;
    out.push({
      name: pack.name,
      data: pack.data(
        jobId,
        part.map((c) => c.data),
      ),
      index: first.index,
    });
  }
  return out;
}

/**
 * The secret a batch's webhook_url is signed with must be known to the receiver before the
 * first delivery (which can come ~100 ms after the 202), so it is never generated here:
 * - the caller's `webhook_secret` (validated: whsec_ + base64 of >= 16 bytes), stored with the batch;
 * - else a registered endpoint with the same URL: the endpoint's delivery (its own secret) is
 *   the batch's, the URL is not sent the event twice (null here; see queueWebhooks);
 * - else the configured WEBHOOK_SECRET (null here: the worker signs with it).
 * None of these: 400 WEBHOOK_SECRET_REQUIRED naming the three.
 */
async function webhookSecretFor(
  deps: ApiDeps,
  url: string,
  given: string | undefined,
): Promise<string | null> {
  if (given !== undefined) return parseWith(WebhookSecret, given, 'webhook_secret');
  const endpoints = await deps.store.listWebhookEndpoints();
  if (endpoints.some((e) => e.url === url && !e.disabled_at)) return null;
  if (deps.config.webhook.secret) return null;
  throw new ServiceError(
    'WEBHOOK_SECRET_REQUIRED',
    'webhook_url needs a signing secret the receiver already knows: send webhook_secret (whsec_ + base64 of 16+ random bytes), register the URL with POST /api/v1/webhook-endpoints, or configure WEBHOOK_SECRET',
    { field: 'webhook_secret' },
  );
}
