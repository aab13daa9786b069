import type Database from 'better-sqlite3';
import type { WebhookEndpoint } from '../types.js';

type Row = Omit<WebhookEndpoint, 'events'> & { events: string | null };

const fromRow = ({ events, ...r }: Row): WebhookEndpoint => ({
  ...r,
  ...(events ? { events: JSON.parse(events) as string[] } : {}),
});

export function addWebhookEndpoint(db: Database.Database, e: WebhookEndpoint): Promise<void> {
  db.prepare(
    'INSERT INTO webhook_endpoints (endpoint_id, url, secret, created_at, disabled_at, events) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(
    e.endpoint_id,
    e.url,
    e.secret,
    e.created_at,
    e.disabled_at,
    e.events ? JSON.stringify(e.events) : null,
  );
  return Promise.resolve();
}

export function getWebhookEndpoint(
  db: Database.Database,
  endpointId: string,
): Promise<WebhookEndpoint | undefined> {
  const row = db
    .prepare<[string], Row>('SELECT * FROM webhook_endpoints WHERE endpoint_id = ?')
    .get(endpointId);
  return Promise.resolve(row ? fromRow(row) : undefined);
}

export function listWebhookEndpoints(db: Database.Database): Promise<WebhookEndpoint[]> {
  return Promise.resolve(
    db
      .prepare<[], Row>('SELECT * FROM webhook_endpoints ORDER BY created_at, endpoint_id')
      .all()
      .map(fromRow),
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
