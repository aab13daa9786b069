import { createHash } from 'node:crypto';
import { ServiceError } from '../../shared/errors.js';
import type { EnrollItemData, ItemJobResult } from '../../shared/jobs/index.js';
import type { TemplateInput } from '../../shared/store/index.js';
import { THRESHOLDS } from '../../shared/thresholds.js';
import { readPhoto, runItem, type ItemOutcome } from '../batch-item.js';
import { enrollmentFace } from '../enrollment-gates.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

/** One person of an enrollment batch: every photo must pass the gates, then all are enrolled. */
export async function processEnrollItem(data: EnrollItemData, deps: ProcessorDeps): Promise<ItemJobResult> {
  return runItem(deps, { ...data, ref: data.user_id }, () => enroll(data, deps));
}

async function enroll(data: EnrollItemData, deps: ProcessorDeps): Promise<ItemOutcome> {
  const erasedAt = await deps.store.erasedAt(data.user_id);
  if (erasedAt && erasedAt >= data.accepted_at) {
    return {
      outcome: 'ERASED',
      ok: false,
      detail: { error: 'the user was erased after this batch was accepted', erased_at: erasedAt },
    };
  }
  const templates: TemplateInput[] = [];
  for (const key of data.photos) {
    const bytes = await readPhoto(deps, key);
    const photo_sha256 = createHash('sha256').update(bytes).digest('hex');
    const result = await deps.pool.analyse(bytes, analyseOptions(deps.config, 'largest'), true);
    deps.metrics?.observeStages(result.timings);
    const face = enrollmentFace(result, deps.config.quality);
    templates.push({
      model: deps.manifest.embedding_model_id,
      embedding: face.embedding,
      detection_score: face.detection_score,
      quality: face.quality,
      photo_sha256,
    });
  }
  const warnings = await duplicateCheck(templates, data, deps);
  const user = { user_id: data.user_id, name: data.name, group: data.group, metadata: data.metadata };
  for (const [i, t] of templates.entries()) await deps.store.enroll(user, t, i === 0 ? data.mode : 'add');
  // New or known is judged against when the batch was accepted, not against the store now: a
  // re-run after a crash finds the user its first attempt created, and must still say ENROLLED.
  const enrolledAt = (await deps.store.getUser(data.user_id))?.enrolled_at ?? data.accepted_at;
  const outcome = enrolledAt >= data.accepted_at ? 'ENROLLED' : 'UPDATED';
  await deps.gallery.changed(data.user_id);
  return {
    outcome,
    ok: true,
    detail: { user_id: data.user_id, templates: templates.length, ...(warnings.length ? { warnings } : {}) },
  };
}

/**
 * A face that already matches another enrolled person at the high-security threshold is either
 * the same person under a second id or a mistake in the upload: rejected, or a warning if the
 * policy says so.
 */
async function duplicateCheck(
  templates: TemplateInput[],
  data: EnrollItemData,
  deps: ProcessorDeps,
): Promise<string[]> {
  const warnings: string[] = [];
  for (const t of templates) {
    const [hit] = await deps.gallery.search(t.embedding, { topK: 1, excludeUserId: data.user_id });
    if (!hit || hit.distance > THRESHOLDS.cosine.high_security) continue;
    const details = {
      matched_user_id: hit.user_id,
      distance: Math.round(hit.distance * 10000) / 10000,
    };
    if (deps.config.duplicatePolicy === 'reject') {
      throw new ServiceError('DUPLICATE_PERSON', `the face matches enrolled user ${hit.user_id}`, details);
    }
    warnings.push(`DUPLICATE_PERSON: matches ${details.matched_user_id} at distance ${details.distance}`);
  }
  return warnings;
}
