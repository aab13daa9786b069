import { Hono } from 'hono';
import { ServiceError } from '../../shared/errors.js';
import { PageQuery, type JobStatus } from '../../shared/schemas.js';
import type { ApiDeps } from '../deps.js';
import { parseWith } from '../validate.js';

/**
 * Batch status, results and webhook deliveries — all from the store, so they outlive Redis
 * retention.
 */
export function jobRoutes(deps: ApiDeps): Hono {
  const { store } = deps;
  const app = new Hono();
  const batch = async (id: string) => {
    const job = await store.getJob(id);
    if (!job) throw new ServiceError('JOB_NOT_FOUND', `no job ${id}`);
    return job;
  };

  app.get('/api/v1/jobs/:id', async (c) => {
    const job = await batch(c.req.param('id'));
    const { done, failed } = await store.countItemResults(job.job_id);
    const body: JobStatus = {
      job_id: job.job_id,
      type: job.type,
      status: job.status,
      progress: { total: job.total, done, failed },
      created_at: job.created_at,
      started_at: job.started_at,
      finished_at: job.finished_at,
      photos: job.photos,
      failure_reason: job.failure_reason,
    };
    return c.json(body);
  });

  app.get('/api/v1/jobs/:id/results', async (c) => {
    const job = await batch(c.req.param('id'));
    const q = parseWith(PageQuery, c.req.query());
    const page = await store.listItemResults(job.job_id, {
      limit: q.limit,
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json({
      job_id: job.job_id,
      items: page.items.map((r) => ({
        index: r.index,
        ref: r.ref,
        outcome: r.outcome,
        ok: r.ok,
        ...r.detail,
        finished_at: r.finished_at,
      })),
      next_cursor: page.next_cursor,
    });
  });

  app.get('/api/v1/jobs/:id/webhook-deliveries', async (c) => {
    const job = await batch(c.req.param('id'));
    return c.json({ job_id: job.job_id, deliveries: await store.listWebhookDeliveries(job.job_id) });
  });
  return app;
}
