import type Database from 'better-sqlite3';
import type { WebhookRepository } from '../repositories/webhooks.js';
import type { WebhookDelivery, WebhookEndpoint } from '../types.js';
import { statements } from './statements.js';

type EndpointRow = Omit<WebhookEndpoint, 'events'> & { events: string | null };
type DeliveryRow = Omit<WebhookDelivery, 'delivered'> & { delivered: number };

const toEndpoint = ({ events, ...r }: EndpointRow): WebhookEndpoint => ({
  ...r,
  ...(events ? { events: JSON.parse(events) as string[] } : {}),
});

/** Webhook endpoints and deliveries on one SQLite database. */
export function sqliteWebhooks(db: Database.Database): WebhookRepository {
  return {
    addWebhookEndpoint(e) {
      statements(db)(
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
    },

    getWebhookEndpoint(endpointId) {
      const row = statements(db)<[string], EndpointRow>(
        'SELECT * FROM webhook_endpoints WHERE endpoint_id = ?',
      ).get(endpointId);
      return Promise.resolve(row ? toEndpoint(row) : undefined);
    },

    listWebhookEndpoints() {
      return Promise.resolve(
        statements(db)<[], EndpointRow>('SELECT * FROM webhook_endpoints ORDER BY created_at, endpoint_id')
          .all()
          .map(toEndpoint),
      );
    },

    deleteWebhookEndpoint(endpointId) {
      return Promise.resolve(
        statements(db)('DELETE FROM webhook_endpoints WHERE endpoint_id = ?').run(endpointId).changes > 0,
      );
    },

    disableWebhookEndpoint(endpointId, at) {
      statements(db)(
        'UPDATE webhook_endpoints SET disabled_at = ? WHERE endpoint_id = ? AND disabled_at IS NULL',
      ).run(at, endpointId);
      return Promise.resolve();
    },

    addWebhookDelivery(d) {
      statements(db)(
        `INSERT OR REPLACE INTO webhook_deliveries (delivery_id, job_id, event, url, attempt, status_code, error, delivered, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        d.delivery_id,
        d.job_id,
        d.event,
        d.url,
        d.attempt,
        d.status_code,
        d.error,
        d.delivered ? 1 : 0,
        d.at,
      );
      return Promise.resolve();
    },

    listWebhookDeliveries(jobId) {
      const rows = statements(db)<[string], DeliveryRow>(
        'SELECT * FROM webhook_deliveries WHERE job_id = ? ORDER BY at, attempt',
      ).all(jobId);
      return Promise.resolve(rows.map((r) => ({ ...r, delivered: r.delivered === 1 })));
    },
  };
}
