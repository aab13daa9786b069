import type { WebhookRepository } from '../repositories/webhooks.js';
import type { WebhookDelivery, WebhookEndpoint } from '../types.js';
import { NO_ID, type Collections, type DeliveryDoc } from './collections.js';

const toEndpoint = (e: WebhookEndpoint): WebhookEndpoint => ({
  endpoint_id: e.endpoint_id,
  url: e.url,
  secret: e.secret,
  created_at: e.created_at,
  disabled_at: e.disabled_at,
  ...(e.events ? { events: [...e.events] } : {}),
});
const toDelivery = (d: DeliveryDoc): WebhookDelivery => ({
  delivery_id: d.delivery_id,
  job_id: d.job_id,
  event: d.event,
  url: d.url,
  attempt: d.attempt,
  status_code: d.status_code,
  error: d.error,
  delivered: d.delivered,
  at: d.at,
});

/** Webhook endpoints and deliveries on MongoDB. */
export function mongoWebhooks(cols: Collections): WebhookRepository {
  return {
    async addWebhookEndpoint(e) {
      // A copy: insertOne adds _id to the object it is given.
      await cols.endpoints.insertOne(toEndpoint(e));
    },

    async getWebhookEndpoint(endpointId) {
      const doc = await cols.endpoints.findOne({ endpoint_id: endpointId }, NO_ID);
      return doc ? toEndpoint(doc) : undefined;
    },

    async listWebhookEndpoints() {
      const docs = await cols.endpoints.find({}, NO_ID).sort({ created_at: 1, endpoint_id: 1 }).toArray();
      return docs.map(toEndpoint);
    },

    async deleteWebhookEndpoint(endpointId) {
      return (await cols.endpoints.deleteOne({ endpoint_id: endpointId })).deletedCount > 0;
    },

    async disableWebhookEndpoint(endpointId, at) {
      await cols.endpoints.updateOne(
        { endpoint_id: endpointId, disabled_at: null },
        { $set: { disabled_at: at } },
      );
    },

    /** Upsert by (delivery_id, attempt), as SQLite's INSERT OR REPLACE. */
    async addWebhookDelivery(d) {
      await cols.deliveries.replaceOne({ delivery_id: d.delivery_id, attempt: d.attempt }, toDelivery(d), {
        upsert: true,
      });
    },

    async listWebhookDeliveries(jobId) {
      const docs = await cols.deliveries.find({ job_id: jobId }, NO_ID).sort({ at: 1, attempt: 1 }).toArray();
      return docs.map(toDelivery);
    },
  };
}
