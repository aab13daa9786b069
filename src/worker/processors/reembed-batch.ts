import { createHash } from 'node:crypto';
import { ServiceError } from '../../shared/errors.js';
import type { ReembedData, ReembedResult } from '../../shared/jobs/index.js';
import { MAX_PHOTOS_PER_PERSON } from '../../shared/schemas.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

/**
 * Recomputes, with the active pack, the templates an enrollment batch made, from the photos it
 * kept (KEEP_PHOTOS=true; blob `<job_id>/<item>-<photo>`). Each kept photo is matched to its
 * user's template by sha256 (a template is keyed by its photo) and that template is rewritten
 * in place with the new model's embedding, so a person keeps one template per photo. The
 * gallery is told per user. Re-running it is harmless: templates already of the active model
 * are left alone. An erasure after the job started wins (the store's tombstone check).
 */
export async function processReembed(data: ReembedData, deps: ProcessorDeps): Promise<ReembedResult> {
  const startedAt = new Date().toISOString();
  const model = deps.manifest.embedding_model_id;
  const batch = await deps.store.getJob(data.job_id);
  if (!batch || batch.type !== 'enrollment')
    throw new ServiceError('JOB_NOT_FOUND', `no enrollment batch ${data.job_id}`);
  if (batch.photos !== 'kept')
    throw new ServiceError(
      'INVALID_REQUEST',
      `batch ${data.job_id} kept no photos (photos: ${batch.photos}; KEEP_PHOTOS was off): enroll its people again`,
      { field: 'job_id' },
    );
  const result: ReembedResult = {
    job_id: data.job_id,
    model,
    users: 0,
    reembedded: 0,
    current: 0,
    no_template: 0,
    no_face: 0,
  };
  for (let index = 0; index < batch.total; index++) {
    const item = await deps.store.getItemResult(data.job_id, index);
    if (!item?.ok || !item.ref) continue;
    const user = await deps.store.getUser(item.ref);
    if (!user) continue; // erased since
    result.users++;
    const bySha = new Map(user.templates.map((t) => [t.photo_sha256, t]));
    let changed = false;
    for (let n = 0; n < MAX_PHOTOS_PER_PERSON; n++) {
      const bytes = await deps.blobs.get(`${data.job_id}/${index}-${n}`);
      if (!bytes) continue;
      const photoSha = createHash('sha256').update(bytes).digest('hex');
      const template = bySha.get(photoSha);
      if (!template) {
        result.no_template++;
        continue;
      }
      if (template.model === model) {
        result.current++;
        continue;
      }
      const analysed = await deps.pool.analyse(bytes, analyseOptions(deps.config, 'largest'), {
        handOver: 'transfer',
      });
      const face = analysed.faces[0];
      if (!face) {
        result.no_face++;
        continue;
      }
      const { user_id, name, group, metadata } = user;
      const done = await deps.store.enroll(
        { user_id, name, group, metadata },
        {
          model,
          embedding: face.embedding,
          detection_score: face.detection_score,
          quality: face.quality,
          photo_sha256: photoSha,
        },
        'add',
        startedAt,
      );
      if (done === 'ERASED') break;
      changed = true;
      result.reembedded++;
    }
    if (changed) await deps.gallery.changed(user.user_id);
  }
  deps.logger.info(result, 'batch re-embedded');
  return result;
}
