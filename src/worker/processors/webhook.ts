import { UnrecoverableError, type Job } from 'bullmq';
import { ServiceError } from '../../shared/errors.js';
import type { WebhookJobData, WebhookJobResult } from '../../shared/jobs/index.js';
import { assertWebhookTarget } from '../../shared/url-guard.js';
import { webhookHeaders } from '../../shared/webhook-signing.js';
import { postWebhook } from '../webhook-post.js';
import type { ProcessorDeps } from './types.js';

/**
 * Delivers one webhook attempt. 2xx = delivered; 410 = the receiver is gone: stop; anything
 * else (or no answer within the timeout) is retried on the configured schedule. Redirects
 * are not followed (they could lead anywhere). The target is checked when the job starts and
 * again on the address the connection is made to (DNS rebinding). Every attempt is recorded.
 */
export async function processWebhook(
  data: WebhookJobData,
  deps: ProcessorDeps,
  job: Job,
): Promise<WebhookJobResult> {
  const attempt = job.attemptsMade + 1;
  const record = (status_code: number | null, error: string | null, delivered: boolean) => {
    deps.metrics?.webhooks.inc({
      event: data.event,
      result: delivered ? 'delivered' : status_code === 410 ? 'gone' : 'failed',
    });
    // The host only: a webhook URL's path or query may carry the receiver's own token.
    if (!delivered) {
      deps.logger.warn(
        {
          delivery: data.delivery_id,
          event: data.event,
          host: hostOf(data.url),
          attempt,
          status: status_code,
          err: error,
        },
        'webhook delivery failed',
      );
    }
    return deps.store.addWebhookDelivery({
      delivery_id: data.delivery_id,
      job_id: data.job_id,
      event: data.event,
      url: data.url,
      attempt,
      status_code,
      error,
      delivered,
      at: new Date().toISOString(),
    });
  };

  const secret = await secretFor(data, deps);
  if (!secret) {
    await record(null, 'the endpoint was removed or disabled', false);
    throw new UnrecoverableError(`no webhook secret for ${data.endpoint_id ?? data.job_id}`);
  }
  try {
    await assertWebhookTarget(data.url, deps.config.webhook.allow);
  } catch (err) {
    await record(null, (err as Error).message, false);
    throw new UnrecoverableError((err as Error).message);
  }
  const body = JSON.stringify(data.payload);
  let status: number;
  try {
    status = await postWebhook({
      url: data.url,
      body,
      headers: webhookHeaders(secret, data.delivery_id, body),
      timeoutMs: deps.config.webhook.timeoutMs,
      allow: deps.config.webhook.allow,
    });
  } catch (err) {
    const message = (err as Error).message;
    await record(null, message, false);
    // The host now resolves somewhere forbidden (checked on the connection itself): refused
    // like a forbidden URL, not retried against an address we will not connect to.
    if (err instanceof ServiceError) throw new UnrecoverableError(message);
    throw new Error(`webhook delivery failed: ${message}`, { cause: err });
  }
  if (status >= 200 && status < 300) {
    await record(status, null, true);
    return { delivered: true, status_code: status };
  }
  await record(status, `HTTP ${status}`, false);
  if (status === 410) {
    if (data.endpoint_id) await deps.store.disableWebhookEndpoint(data.endpoint_id, new Date().toISOString());
    throw new UnrecoverableError('receiver answered 410 Gone: delivery disabled');
  }
  throw new Error(`webhook receiver answered HTTP ${status}`);
}

/** A registered endpoint signs with its own secret; a batch URL with the batch's (or the configured one). */
async function secretFor(data: WebhookJobData, deps: ProcessorDeps): Promise<string | undefined> {
  if (data.endpoint_id) {
    const endpoint = await deps.store.getWebhookEndpoint(data.endpoint_id);
    return endpoint && !endpoint.disabled_at ? endpoint.secret : undefined;
  }
  const batch = await deps.store.getJob(data.job_id);
  return batch?.webhook_secret ?? deps.config.webhook.secret;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}
