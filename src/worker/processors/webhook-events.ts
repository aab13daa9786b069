import {
  WEBHOOK_JOB,
  endpointWants,
  type BatchSummary,
  type WebhookEvent,
  type WebhookJobData,
} from '../../shared/jobs/index.js';
import type { BatchJob, WebhookEndpoint } from '../../shared/store/index.js';
import type { ProcessorDeps } from './types.js';

/**
 * The events a batch sends when it ends: job.completed / job.failed, and for an attendance batch
 * attendance.recorded per confirmed record. Delivered by the webhook job (webhook.ts).
 */
interface Receiver {
  url: string;
  endpoint_id: string;
  delivery_id: string;
}

/**
 * Who gets `event` of `batch`: its webhook_url, and every enabled registered endpoint subscribed
 * to the event. A webhook_url that is a registered endpoint's URL is that endpoint's delivery
 * (signed with its secret, the batch's intake relied on it), never a second one to the same URL.
 * `base` is the delivery id for the batch's URL; an endpoint's adds its id.
 */
function receiversOf(
  endpoints: WebhookEndpoint[],
  batch: BatchJob,
  event: WebhookEvent,
  base: string,
): Receiver[] {
  const receivers = endpoints
    .filter((e) => endpointWants(e, event))
    .map((e) => ({ url: e.url, endpoint_id: e.endpoint_id, delivery_id: `${base}_${e.endpoint_id}` }));
  const url = batch.webhook_url;
  if (url && !endpoints.some((e) => e.url === url))
    receivers.unshift({ url, endpoint_id: '', delivery_id: base });
  return receivers;
}

/** The enabled registered endpoints: read once per batch, not once per record it sends. */
async function enabledEndpoints(deps: ProcessorDeps): Promise<WebhookEndpoint[]> {
  return (await deps.store.listWebhookEndpoints()).filter((e) => !e.disabled_at);
}

async function queueDeliveries(
  deps: ProcessorDeps,
  batch: BatchJob,
  event: WebhookEvent,
  receivers: Receiver[],
  payload: Record<string, unknown>,
): Promise<void> {
  for (const r of receivers) {
    const data: WebhookJobData = {
      delivery_id: r.delivery_id,
      job_id: batch.job_id,
      event,
      url: r.url,
      ...(r.endpoint_id ? { endpoint_id: r.endpoint_id } : {}),
      payload,
    };
    await deps.jobs.enqueue(WEBHOOK_JOB, data, { jobId: r.delivery_id });
  }
}

/**
 * `attendance.recorded`, once per confirmed record (src/shared/evidence.ts) among the batch's,
 * not per sighting. The delivery id is the record's: a record confirmed again by a later batch
 * (another of its sightings) is queued under the same id, which BullMQ ignores while it keeps
 * the delivery (24 h delivered, 7 days failed: webhookJobOptions); records are one window
 * (ATTENDANCE_WINDOW_MS, 5 min) long, so a later batch re-confirming one comes well within that.
 * Pending records are not sent: a later batch that confirms one sends it then.
 */
export async function queueAttendanceRecorded(deps: ProcessorDeps, batch: BatchJob): Promise<void> {
  const confirmed = (await deps.store.attendanceOfJob(batch.job_id)).filter((r) => r.status === 'confirmed');
  if (confirmed.length === 0) return;
  const event = 'attendance.recorded';
  // Once per batch: per record it was 2 store reads per frame of an attendance batch.
  const endpoints = await enabledEndpoints(deps);
  for (const r of confirmed) {
    const base = `msg_${r.attendance_id}_attendance_recorded`;
    const payload = {
      type: event,
      timestamp: new Date().toISOString(),
      data: {
        attendance_id: r.attendance_id,
        user_id: r.user_id,
        name: r.name,
        group: r.group,
        camera_id: r.camera_id,
        timestamp: r.timestamp,
        last_seen: r.last_seen,
        sightings: r.sightings,
        status: r.status,
        similarity_score: r.similarity_score,
        distance: r.distance,
        job_id: batch.job_id,
      },
    };
    await queueDeliveries(deps, batch, event, receiversOf(endpoints, batch, event, base), payload);
  }
}

/** job.completed / job.failed to the batch's webhook_url and to the registered endpoints subscribed. */
export async function queueWebhooks(
  deps: ProcessorDeps,
  batch: BatchJob,
  summary: BatchSummary,
): Promise<void> {
  const event = batch.status === 'failed' ? 'job.failed' : 'job.completed';
  // One delivery per batch, event and receiver: a parent retried after a crash queues the same ids.
  const base = `msg_${batch.job_id}_${event.replace('.', '_')}`;
  const receivers = receiversOf(await enabledEndpoints(deps), batch, event, base);
  const payload = {
    type: event,
    timestamp: new Date().toISOString(),
    data: {
      job_id: batch.job_id,
      type: batch.type,
      status: batch.status,
      progress: { total: summary.total, done: summary.done, failed: summary.failed },
      created_at: batch.created_at,
      finished_at: batch.finished_at,
      results_url: `/api/v1/jobs/${batch.job_id}/results`,
      ...(batch.failure_reason ? { failure_reason: batch.failure_reason } : {}),
      ...(summary.attendance ? { summary: summary.attendance } : {}),
    },
  };
  await queueDeliveries(deps, batch, event, receivers, payload);
}
