import type Database from 'better-sqlite3';
import type { WebhookEndpoint } from '../types.js';

export function addWebhookEndpoint(db: Database.Database, e: WebhookEndpoint): Promise<void> {
  db.prepare(
    'INSERT INTO webhook_endpoints (endpoint_id, url, secret, created_at, disabled_at) VALUES (?, ?, ?, ?, ?)',
  ).run(e.endpoint_id, e.url, e.secret, e.created_at, e.disabled_at);
  return Promise.resolve();
}

export function getWebhookEndpoint(
  db: Database.Database,
  endpointId: string,
): Promise<WebhookEndpoint | undefined> {
  return Promise.resolve(
    db
      .prepare<[string], WebhookEndpoint>('SELECT * FROM webhook_endpoints WHERE endpoint_id = ?')
      .get(endpointId),
  );
}

export function listWebhookEndpoints(db: Database.Database): Promise<WebhookEndpoint[]> {
  return Promise.resolve(
    db.prepare<[], WebhookEndpoint>('SELECT * FROM webhook_endpoints ORDER BY created_at, endpoint_id').all(),
  );
}

export function deleteWebhookEndpoint(db: Database.Database, endpointId: string): Promise<boolean> {
  return Promise.resolve(
    db.prepare('DELETE FROM webhook_endpoints WHERE endpoint_id = ?').run(endpointId).changes > 0,
  );
}

export function disableWebhookEndpoint(db: Database.Database, endpointId: string, at: string): Promise<void> {
  db.prepare(
    'UPDATE webhook_endpoints SET disabled_at = ? WHERE endpoint_id = ? AND disabled_at IS NULL',
  ).run(at, endpointId);
  return Promise.resolve();
}
