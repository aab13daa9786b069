import type { WebhookEndpoint } from '../types.js';
import { NO_ID, type Collections } from './collections.js';

const plain = (e: WebhookEndpoint): WebhookEndpoint => ({
  endpoint_id: e.endpoint_id,
  url: e.url,
  secret: e.secret,
  created_at: e.created_at,
  disabled_at: e.disabled_at,
  ...(e.events ? { events: [...e.events] } : {}),
});

export async function addWebhookEndpoint(cols: Collections, e: WebhookEndpoint): Promise<void> {
  // A copy: insertOne adds _id to the object it is given.
  await cols.endpoints.insertOne(plain(e));
}

export async function getWebhookEndpoint(
  cols: Collections,
  endpointId: string,
): Promise<WebhookEndpoint | undefined> {
  const doc = await cols.endpoints.findOne({ endpoint_id: endpointId }, NO_ID);
  return doc ? plain(doc) : undefined;
}

export async function listWebhookEndpoints(cols: Collections): Promise<WebhookEndpoint[]> {
  const docs = await cols.endpoints.find({}, NO_ID).sort({ created_at: 1, endpoint_id: 1 }).toArray();
  return docs.map(plain);
}

export async function deleteWebhookEndpoint(cols: Collections, endpointId: string): Promise<boolean> {
  return (await cols.endpoints.deleteOne({ endpoint_id: endpointId })).deletedCount > 0;
}

export async function disableWebhookEndpoint(
  cols: Collections,
  endpointId: string,
  at: string,
): Promise<void> {
  await cols.endpoints.updateOne(
    { endpoint_id: endpointId, disabled_at: null },
    { $set: { disabled_at: at } },
  );
}
