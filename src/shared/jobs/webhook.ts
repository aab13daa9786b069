import { z } from 'zod';

/** One webhook event for one receiver; the secret is looked up in the store, never put in Redis. */
export const WEBHOOK_JOB = 'webhook' as const;

export const WEBHOOK_EVENTS = ['job.completed', 'job.failed', 'attendance.recorded'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** What a registered endpoint gets when it names no events (and all it got before `events`). */
export const DEFAULT_ENDPOINT_EVENTS: readonly WebhookEvent[] = ['job.completed', 'job.failed'];

/** Whether a registered endpoint subscribed to `event`. */
export const endpointWants = (endpoint: { events?: readonly string[] }, event: WebhookEvent): boolean =>
  (endpoint.events ?? DEFAULT_ENDPOINT_EVENTS).includes(event);

export const WebhookJobData = z.object({
  /** Stable across retries: receivers de-duplicate on the `webhook-id` header. */
  delivery_id: z.string(),
  job_id: z.string(),
  event: z.enum(WEBHOOK_EVENTS),
  url: z.string().url(),
  /** A registered endpoint (its own secret); absent = the batch's webhook_url. */
  endpoint_id: z.string().optional(),
  payload: z.record(z.string(), z.unknown()),
});
export type WebhookJobData = z.infer<typeof WebhookJobData>;

export interface WebhookJobResult {
  delivered: boolean;
  status_code: number | null;
}
