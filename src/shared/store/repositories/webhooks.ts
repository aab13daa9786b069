import type { WebhookDelivery, WebhookEndpoint } from '../types.js';

/** Webhook endpoints (registered receivers) and the record of every delivery attempt. */
export interface WebhookRepository {
  addWebhookEndpoint(endpoint: WebhookEndpoint): Promise<void>;
  getWebhookEndpoint(endpointId: string): Promise<WebhookEndpoint | undefined>;
  /** Every registered endpoint, oldest first (disabled ones included). */
  listWebhookEndpoints(): Promise<WebhookEndpoint[]>;
  /** true when it existed. */
  deleteWebhookEndpoint(endpointId: string): Promise<boolean>;
  disableWebhookEndpoint(endpointId: string, at: string): Promise<void>;

  /** Upsert by (delivery_id, attempt). */
  addWebhookDelivery(delivery: WebhookDelivery): Promise<void>;
  /** Ordered by time, then attempt. */
  listWebhookDeliveries(jobId: string): Promise<WebhookDelivery[]>;
}
