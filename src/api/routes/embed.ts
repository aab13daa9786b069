import { Hono } from 'hono';
import { limitBody } from '../body-limit.js';
import { assertSupportedImage, decodeBase64Image } from '../../shared/image-input.js';
import { EMBED_JOB } from '../../shared/jobs/index.js';
import { EmbedRequest } from '../../shared/schemas.js';
import type { ApiDeps } from '../deps.js';
import { readJson } from '../validate.js';

/**
 * POST /api/v1/embed — the guide's call. Cheap checks (size, base64, magic bytes) happen here
 * so bad uploads never reach the queue; the pipeline runs as a high-priority job we wait for.
 */
export function embedRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.post('/api/v1/embed', limitBody(deps.config.maxBodyBytes), async (c) => {
    // SYNC_TIMEOUT_MS counts from the request's arrival: reading the body is part of the wait.
    const arrivedAt = Date.now();
    const req = await readJson(c, EmbedRequest);
    const bytes = decodeBase64Image(req.image);
    assertSupportedImage(bytes);
    const result = await deps.jobs.runSync(
      EMBED_JOB,
      { image: bytes.toString('base64'), face: req.face },
      deps.config.syncTimeoutMs,
      arrivedAt,
    );
    return c.json(result);
  });
  return app;
}
