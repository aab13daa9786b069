import { Hono } from 'hono';
import { z } from 'zod';
import { calibrateAsync, type CalibrationReport } from '../../shared/calibration.js';
import { renderCalibrationSvg } from '../../shared/calibration-svg.js';
import { openSetSummary } from '../../shared/decision.js';
import type { ApiDeps } from '../deps.js';
import { parseWith } from '../validate.js';

const CalibrationQuery = z.object({
  group: z.string().min(1).max(128).optional(),
  format: z.enum(['json', 'svg']).default('json'),
});

/**
 * GET /api/v1/calibration: FAR/FRR of the enrolled gallery itself (genuine = pairs of one user's
 * templates, impostor = pairs of different users), so an operator can check the published
 * thresholds against their own population. JSON by default, `?format=svg` for a chart.
 */
export function calibrationRoutes(deps: ApiDeps): Hono {
  const { store, manifest, logger } = deps;
  const app = new Hono();
  // Up to 2 M dot products per report: concurrent requests for the same group share one run
  // rather than each paying (and each holding the gallery in memory).
  const running = new Map<string, Promise<CalibrationReport>>();

  const report = (group: string | undefined): Promise<CalibrationReport> => {
    const key = group ?? '\u0000all';
    const pending = running.get(key);
    if (pending) return pending;
    const run = (async () => {
      const started = performance.now();
      const entries = await store.gallery(group);
      const r = await calibrateAsync(entries, { group: group ?? null, model: manifest.embedding_model_id });
      logger.info(
        { group: group ?? null, templates: r.counts.templates, ms: Math.round(performance.now() - started) },
        'calibration computed',
      );
      return r;
    })().finally(() => running.delete(key));
    running.set(key, run);
    return run;
  };

  app.get('/api/v1/calibration', async (c) => {
    const q = parseWith(CalibrationQuery, c.req.query());
    const r = await report(q.group);
    c.header('cache-control', 'no-store');
    if (q.format === 'svg')
      return c.body(renderCalibrationSvg(r), 200, { 'content-type': 'image/svg+xml; charset=utf-8' });
    // The gallery's own 1:N operating points, for its size, beside its measured 1:1 rates.
    return c.json({ ...r, open_set: openSetSummary(deps, r.counts.templates) });
  });
  return app;
}
