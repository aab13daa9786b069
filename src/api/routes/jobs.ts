import { createRoute } from '@hono/zod-openapi';
import { ServiceError } from '../../shared/errors.js';
import { JobStatus, ResultsQuery } from '../../shared/schemas.js';
import type { ApiDeps } from '../deps.js';
import { errors, idParam, named, ok, routeApp } from '../docs/openapi-kit.js';
import { JobResults, WebhookDeliveries } from '../docs/responses.js';

const JobId = idParam('job_0b6f7c1e7a4e4c1d9a532f4b1d0e9c11', 'The job_id a batch was accepted with');

/**
 * Batch status, results and webhook deliveries — all from the store, so they outlive Redis
 * retention.
 */
export function jobRoutes(deps: ApiDeps) {
  const { store } = deps;
  const app = routeApp();
  const batch = async (id: string) => {
    const job = await store.getJob(id);
    if (!job) throw new ServiceError('JOB_NOT_FOUND', `no job ${id}`);
    return job;
  };

  const status = createRoute({
    method: 'get',
    path: '/jobs/{id}',
    operationId: 'getJob',
    tags: ['Jobs'],
    summary: 'Batch status and progress',
    request: { params: JobId },
    responses: {
      200: ok(named('JobStatus', JobStatus), 'Status and progress'),
      ...errors('UNAUTHORIZED', 'JOB_NOT_FOUND'),
    },
  });
  app.openapi(status, async (c) => {
    const job = await batch(c.req.valid('param').id);
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
    return c.json(body, 200);
  });

  const results = createRoute({
    method: 'get',
    path: '/jobs/{id}/results',
    operationId: 'listJobResults',
    tags: ['Jobs'],
    summary: 'Per-item results, paged',
    request: { params: JobId, query: ResultsQuery },
    responses: {
      200: ok(JobResults, 'A page of item results, by item index (with outcome: only those)'),
      ...errors('INVALID_REQUEST', 'UNAUTHORIZED', 'JOB_NOT_FOUND'),
    },
  });
  app.openapi(results, async (c) => {
    const job = await batch(c.req.valid('param').id);
    const q = c.req.valid('query');
    const page = await store.listItemResults(job.job_id, {
      limit: q.limit,
      ...(q.cursor ? { cursor: q.cursor } : {}),
      ...(q.outcome ? { outcome: q.outcome } : {}),
    });
    return c.json(
      {
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
      },
      200,
    );
  });

  const deliveries = createRoute({
    method: 'get',
    path: '/jobs/{id}/webhook-deliveries',
    operationId: 'listWebhookDeliveries',
    tags: ['Jobs'],
    summary: 'Every webhook attempt for a batch',
    request: { params: JobId },
    responses: {
      200: ok(WebhookDeliveries, 'The attempts, oldest first'),
      ...errors('UNAUTHORIZED', 'JOB_NOT_FOUND'),
    },
  });
  app.openapi(deliveries, async (c) => {
    const job = await batch(c.req.valid('param').id);
    return c.json({ job_id: job.job_id, deliveries: await store.listWebhookDeliveries(job.job_id) }, 200);
  });
  return app;
}
