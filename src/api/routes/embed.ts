import { createRoute } from '@hono/zod-openapi';
import { limitBody } from '../body-limit.js';
import { base64PhotoForJob } from '../../shared/image-input.js';
import { EMBED_JOB } from '../../shared/jobs/index.js';
import { EmbedRequest, EmbedResponse } from '../../shared/schemas.js';
import type { ApiDeps } from '../deps.js';
import { errors, jsonBody, named, ok, routeApp } from '../docs/openapi-kit.js';
import { readJson } from '../validate.js';

const IMAGE = 'iVBORw0KGgo…(base64 JPEG, PNG or WebP)';

/**
 * POST /embed — the guide's call. Cheap checks (size, base64, magic bytes) happen here
 * so bad uploads never reach the queue; the pipeline runs as a high-priority job we wait for.
 */
export function embedRoutes(deps: ApiDeps) {
  const app = routeApp();
  const route = createRoute({
    method: 'post',
    path: '/embed',
    operationId: 'embedFace',
    tags: ['Embeddings'],
    summary: 'Photo -> 512-float embedding of one face',
    middleware: [limitBody(deps.config.maxBodyBytes)] as const,
    request: { body: jsonBody(app, 'EmbedRequest', EmbedRequest, { image: IMAGE, face: 'largest' }) },
    responses: {
      200: ok(named('EmbedResponse', EmbedResponse), 'The embedding of the chosen face'),
      ...errors(
        'INVALID_REQUEST',
        'INVALID_IMAGE',
        'UNAUTHORIZED',
        'UNSUPPORTED_MEDIA_TYPE',
        'PAYLOAD_TOO_LARGE',
        'IMAGE_TOO_LARGE',
        'NO_FACE_DETECTED',
        'MULTIPLE_FACES',
        'SERVICE_UNAVAILABLE',
        'TIMEOUT',
      ),
    },
  });
  app.openapi(route, async (c) => {
    // SYNC_TIMEOUT_MS counts from the request's arrival: reading the body is part of the wait.
    const arrivedAt = Date.now();
    const req = await readJson(c, EmbedRequest);
    const image = base64PhotoForJob(req.image);
    const result = await deps.jobs.runSync(
      EMBED_JOB,
      { image, face: req.face },
      deps.config.syncTimeoutMs,
      arrivedAt,
    );
    return c.json(result, 200);
  });
  return app;
}
