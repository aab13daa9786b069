import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { calibrateAsync, type CalibrationReport } from '../../shared/calibration.js';
import { renderCalibrationSvg } from '../../shared/calibration-svg.js';
import { openSetSummary } from '../../shared/decision.js';
import type { ApiDeps } from '../deps.js';
import { errors, ok, routeApp } from '../docs/openapi-kit.js';
import { Calibration } from '../docs/responses.js';

const CalibrationQuery = z.object({
  group: z.string().min(1).max(128).optional().describe('Only this group (default: every group)'),
  format: z.enum(['json', 'svg']).default('json').describe('svg: a FAR/FRR chart'),
});

/** The version prefix, kept here: see calibrationRoutes. */
export const CALIBRATION_PREFIX = '/api/v1';

const route = createRoute({
  method: 'get',
  path: '/calibration',
  operationId: 'getCalibration',
  tags: ['Models'],
  summary: 'Genuine/impostor distances, FAR/FRR, EER and thresholds of the enrolled gallery',
  request: { query: CalibrationQuery },
  responses: {
    200: {
      ...ok(Calibration, 'The report (format=json), or a chart (format=svg)'),
      content: {
        ...ok(Calibration, '').content,
        'image/svg+xml': { schema: { type: 'string' } },
      },
    },
    ...errors('INVALID_REQUEST', 'UNAUTHORIZED'),
  },
});

/**
 * GET /api/v1/calibration: FAR/FRR of the enrolled gallery itself (genuine = pairs of one user's
 * templates, impostor = pairs of different users), so an operator can check the published
 * thresholds against their own population. JSON by default, `?format=svg` for a chart.
 */
export function calibrationRoutes(deps: ApiDeps) {
  const { store, manifest, logger } = deps;
  // Carries its /api/v1 prefix itself: it is mounted at '/', by app.ts and by its test alike.
  const app = routeApp().basePath(CALIBRATION_PREFIX);
  // Up to 2 M dot products per report: concurrent requests for the same group share one run
  // rather than each paying (and each holding the gallery in memory).
  const running = new Map<string, Promise<CalibrationReport>>();

  const report = (group: string | undefined): Promise<CalibrationReport> => {
    const key = group ?? '\u0000all';
    const pending = running.get(key);
    if (pending) return pending;
    const run = (async () => {
      const started = performance.now();
      // Only the active model's templates: distances between two models' embeddings mean nothing.
      const model = manifest.embedding_model_id;
      const entries = (await store.gallery(group)).filter((e) => e.model === model);
      const r = await calibrateAsync(entries, {
        group: group ?? null,
        model,
        thresholds: deps.openSet.thresholds.cosine,
      });
      logger.info(
        { group: group ?? null, templates: r.counts.templates, ms: Math.round(performance.now() - started) },
        'calibration computed',
      );
      return r;
    })().finally(() => running.delete(key));
    running.set(key, run);
    return run;
  };

  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const r = await report(q.group);
    c.header('cache-control', 'no-store');
    if (q.format === 'svg')
      return c.body(renderCalibrationSvg(r), 200, { 'content-type': 'image/svg+xml; charset=utf-8' });
    // The gallery's own 1:N operating points, for its size, beside its measured 1:1 rates.
    return c.json({ ...r, open_set: openSetSummary(deps, r.counts.templates) }, 200);
  });
  return app;
}
