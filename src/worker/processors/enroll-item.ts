import { createHash } from 'node:crypto';
import { ServiceError } from '../../shared/errors.js';
import type { EnrollItemData, ItemJobResult } from '../../shared/jobs/index.js';
import type { TemplateInput } from '../../shared/store/index.js';
import { ItemRefused, readPhoto, runItem, type ItemOutcome, type ItemRun } from '../batch-item.js';
import { enrollmentFace } from '../enrollment-gates.js';
import { decisionFor } from '../../shared/decision.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

/** What happened to one of a person's photos: ENROLLED, or the error that refused it. */
interface PhotoOutcome {
  index: number;
  outcome: string;
  [detail: string]: unknown;
}

/**
 * One person of an enrollment batch. Each photo gets its own outcome: those that pass the gates
 * are enrolled (once the duplicate gate passes them), the others are listed in `photos`. Only if
 * none passes is the person refused, with the first photo's error, as a one-photo item always was.
 */
export async function processEnrollItem(
  data: EnrollItemData,
  deps: ProcessorDeps,
  job?: ItemRun,
): Promise<ItemJobResult> {
  return runItem(deps, { ...data, ref: data.user_id }, () => enroll(data, deps), job);
}

async function enroll(data: EnrollItemData, deps: ProcessorDeps): Promise<ItemOutcome> {
  // Checked before the slow analysis to skip it, and again by every store write (the erasure may
  // come while the photos are analysed: then the writes are refused or taken back).
  if (await erasedSince(data, deps)) return erased(data, deps);
  const { templates, photos, failures } = await analysePhotos(data, deps);
  const [first] = failures;
  if (templates.length === 0 && first) {
    // Photos gone may be an erasure that took this person out of a queued job of several
    // (src/api/erasure-scan.ts) after the check above: the outcome is then ERASED.
    if (await erasedSince(data, deps)) return erased(data, deps);
    throw photos.length > 1 ? new ItemRefused(first, { photos }) : first;
  }
  const duplicates = await duplicateCheck(templates, data, deps);
  const user = { user_id: data.user_id, name: data.name, group: data.group, metadata: data.metadata };
  // Templates are keyed by photo sha256: a retried item stores each photo once.
  let firstDone: 'ENROLLED' | 'UPDATED' | undefined;
  for (const [i, t] of templates.entries()) {
    const done = await deps.store.enroll(user, t, i === 0 ? data.mode : 'add', data.accepted_at);
    if (i === 0 && done !== 'ERASED') firstDone = done;
    if (done === 'ERASED') {
      await deps.gallery.changed(data.user_id); // a worker may have loaded a template meanwhile
      return erased(data, deps);
    }
  }
  const outcome = firstDone === 'ENROLLED' ? 'ENROLLED' : await knownSince(data, deps);
  await deps.gallery.changed(data.user_id);
  const ignored = photos.reduce(
    (n, p) => n + (typeof p.other_faces_ignored === 'number' ? p.other_faces_ignored : 0),
    0,
  );
  return {
    outcome,
    ok: true,
    detail: {
      user_id: data.user_id,
      templates: templates.length,
      photos_rejected: failures.length,
      ...(ignored ? { other_faces_ignored: ignored } : {}),
      photos,
      ...(duplicates.length
        ? {
            warnings: duplicates.map(
              (d) =>
                `DUPLICATE_PERSON: matches ${d.matched_user_id} at distance ${d.distance} (threshold ${d.threshold})`,
            ),
            duplicates,
          }
        : {}),
    },
  };
}

/**
 * The store said the user already existed: new or known is then judged against when the batch
 * was accepted, not against the store now: a re-run after a crash finds the user its first
 * attempt created, and must still say ENROLLED. (When the store created the user, it is
 * ENROLLED without this read: one store call of 9.6 per item.)
 */
async function knownSince(data: EnrollItemData, deps: ProcessorDeps): Promise<'ENROLLED' | 'UPDATED'> {
  const enrolledAt = (await deps.store.getUser(data.user_id))?.enrolled_at ?? data.accepted_at;
  return enrolledAt >= data.accepted_at ? 'ENROLLED' : 'UPDATED';
}

async function erasedSince(data: EnrollItemData, deps: ProcessorDeps): Promise<boolean> {
  const at = await deps.store.erasedAt(data.user_id);
  return at !== undefined && at >= data.accepted_at;
}

/** The user was erased after this batch was accepted (runItem then deletes the photos, as always). */
async function erased(data: EnrollItemData, deps: ProcessorDeps): Promise<ItemOutcome> {
  return {
    outcome: 'ERASED',
    ok: false,
    detail: {
      error: 'the user was erased after this batch was accepted',
      erased_at: await deps.store.erasedAt(data.user_id),
    },
  };
}

/**
 * Every photo through the pipeline and the gates. A refused photo is that photo's outcome; a
 * fault (the store, the pool) is rethrown so the whole item is retried. `failures` is in photo
 * order, so its first is the first photo's error when none passed.
 */
async function analysePhotos(
  data: EnrollItemData,
  deps: ProcessorDeps,
): Promise<{ templates: TemplateInput[]; photos: PhotoOutcome[]; failures: ServiceError[] }> {
  const refused = data.refused_photos ?? [];
  const taken = new Set(refused.map((r) => r.index));
  const positions = Array.from({ length: data.photos.length + refused.length }, (_, i) => i).filter(
    (i) => !taken.has(i),
  );
  const failed = refused.map((r) => ({
    index: r.index,
    err: new ServiceError(r.error_code, r.error, r.details),
  }));
  const templates: TemplateInput[] = [];
  const enrolled: PhotoOutcome[] = [];
  for (const [n, key] of data.photos.entries()) {
    const index = positions[n] ?? n;
    try {
      const bytes = await readPhoto(deps, key);
      const photo_sha256 = createHash('sha256').update(bytes).digest('hex');
      const result = await deps.pool.analyse(bytes, analyseOptions(deps.config, 'largest'), {
        handOver: 'transfer',
      });
      deps.metrics?.observeStages(result.timings);
      const { face, other_faces_ignored } = enrollmentFace(result, deps.config.quality);
      templates.push({
        model: deps.manifest.embedding_model_id,
        embedding: face.embedding,
        detection_score: face.detection_score,
        quality: face.quality,
        photo_sha256,
      });
      enrolled.push({ index, outcome: 'ENROLLED', ...(other_faces_ignored ? { other_faces_ignored } : {}) });
    } catch (err) {
      if (!(err instanceof ServiceError) || err.retryable) throw err;
      failed.push({ index, err });
    }
  }
  failed.sort((a, b) => a.index - b.index);
  const rejected = failed.map(({ index, err }) => ({
    index,
    outcome: err.code,
    error: err.message,
    ...err.details,
  }));
  return {
    templates,
    photos: [...enrolled, ...rejected].sort((a, b) => a.index - b.index),
    failures: failed.map((f) => f.err),
  };
}

/**
 * A face that already matches another enrolled person is either the same person under a second
 * id or a mistake in the upload. "Matches" is decided at the open-set threshold for the gallery
 * it is checked against (DUPLICATE_TARGET_FPIR, 0.5 %): the old per-comparison 0.59 flagged
 * 2.4 % of 537 distinct people and 9.5 % of 2,900. Rejected, or a warning naming the look-alike.
 */
async function duplicateCheck(
  templates: TemplateInput[],
  data: EnrollItemData,
  deps: ProcessorDeps,
): Promise<DuplicateHit[]> {
  const hits: DuplicateHit[] = [];
  const gallery = await deps.gallery.fresh();
  const { threshold } = decisionFor(deps, 'duplicate', gallery.size);
  for (const t of templates) {
    const [hit] = await gallery.search(t.embedding, { topK: 1, excludeUserId: data.user_id });
    if (!hit || hit.distance > threshold) continue;
    const found = {
      matched_user_id: hit.user_id,
      distance: Math.round(hit.distance * 10000) / 10000,
      threshold,
    };
    if (deps.config.duplicatePolicy === 'reject') {
      throw new ServiceError('DUPLICATE_PERSON', `the face matches enrolled user ${hit.user_id}`, found);
    }
    hits.push(found);
  }
  return hits;
}

interface DuplicateHit {
  matched_user_id: string;
  distance: number;
  threshold: number;
}
