import { Hono } from 'hono';
import { EMBED_BATCH_JOB, EMBED_ITEM_JOB, type EmbedItemData } from '../../shared/jobs/index.js';
import { EmbedBatchRequest } from '../../shared/schemas.js';
import { acceptBatch, batchLimit, photoOrError } from '../batch-intake.js';
import { limitBody } from '../body-limit.js';
import type { ApiDeps } from '../deps.js';
import { idempotent, sha256 } from '../idempotency.js';
import { readBody, readJson } from '../validate.js';

/** POST /api/v1/jobs/embed — many photos -> embeddings, for backends that match themselves (Pattern A). */
export function batchEmbedRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.post('/api/v1/jobs/embed', limitBody(deps.config.maxBatchBodyBytes), async (c) => {
    const raw = await readBody(c);
    const req = await readJson(c, EmbedBatchRequest, { bytes: raw, limits: [batchLimit(deps, 'items')] });
    return idempotent(c, deps.store, sha256(raw), async () => {
      const body = await acceptBatch(deps, {
        type: 'embed',
        parent: EMBED_BATCH_JOB,
        child: EMBED_ITEM_JOB,
        webhookUrl: req.webhook_url,
        webhookSecret: req.webhook_secret,
        items: req.items.map((item, i) => ({
          ref: item.id ?? null,
          photos: [photoOrError(item.image, `items.${i}.image`)],
          data: (job_id, index, [photo]): EmbedItemData => ({
            job_id,
            index,
            ref: item.id ?? null,
            photo: photo ?? '',
            face: req.face,
          }),
        })),
      });
      return { status: 202, body };
    });
  });
  return app;
}
