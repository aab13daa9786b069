import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Store } from '../../../../src/shared/store/store.js';
import { delivery } from './fixtures.js';

/** Webhook endpoints and deliveries (repositories/webhooks.ts). */
export function webhooksConformance(current: () => Store): void {
  void describe('WebhookRepository', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    void describe('webhook endpoints', () => {
      void it('webhook endpoints: add, get, list oldest first, disable once, delete', async () => {
        const e = (id: string, at: string) => ({
          endpoint_id: id,
          url: `https://example.test/${id}`,
          secret: `whsec_${id}`,
          created_at: at,
          disabled_at: null,
        });
        await store.addWebhookEndpoint(e('we-2', '2026-01-01T00:00:02.000Z'));
        await store.addWebhookEndpoint(e('we-1', '2026-01-01T00:00:01.000Z'));
        assert.deepEqual(await store.getWebhookEndpoint('we-1'), e('we-1', '2026-01-01T00:00:01.000Z'));
        assert.equal(await store.getWebhookEndpoint('we-9'), undefined);
        assert.deepEqual(
          (await store.listWebhookEndpoints()).map((x) => x.endpoint_id),
          ['we-1', 'we-2'],
        );
        await store.disableWebhookEndpoint('we-2', '2026-01-02T00:00:00.000Z');
        await store.disableWebhookEndpoint('we-2', '2026-01-03T00:00:00.000Z');
        assert.equal((await store.getWebhookEndpoint('we-2'))?.disabled_at, '2026-01-02T00:00:00.000Z');
        assert.equal(await store.deleteWebhookEndpoint('we-1'), true);
        assert.equal(await store.deleteWebhookEndpoint('we-1'), false);
        assert.deepEqual(
          (await store.listWebhookEndpoints()).map((x) => x.endpoint_id),
          ['we-2'],
        );
      });
    });

    void describe('webhook deliveries', () => {
      void it('lists a job’s deliveries ordered by time, then attempt', async () => {
        const d2 = delivery('d-1', 2, '2026-01-01T00:00:05.000Z', false);
        const d1 = delivery('d-1', 1, '2026-01-01T00:00:00.000Z', false);
        const d3 = delivery('d-1', 3, '2026-01-01T00:00:35.000Z', true);
        const sameTime = delivery('d-2', 1, '2026-01-01T00:00:05.000Z', true);
        await store.addWebhookDelivery(d3);
        await store.addWebhookDelivery(d2);
        await store.addWebhookDelivery(sameTime);
        await store.addWebhookDelivery(d1);
        await store.addWebhookDelivery({
          ...delivery('d-9', 1, '2026-01-01T00:00:01.000Z', true),
          job_id: 'job-2',
        });
        assert.deepEqual(await store.listWebhookDeliveries('job-1'), [d1, sameTime, d2, d3]);
        assert.deepEqual(await store.listWebhookDeliveries('job-3'), []);
      });

      void it('re-adding a (delivery_id, attempt) replaces it', async () => {
        await store.addWebhookDelivery(delivery('d-1', 1, '2026-01-01T00:00:00.000Z', false));
        const done = {
          ...delivery('d-1', 1, '2026-01-01T00:00:00.000Z', true),
          status_code: 204,
          error: null,
        };
        await store.addWebhookDelivery(done);
        assert.deepEqual(await store.listWebhookDeliveries('job-1'), [done]);
      });
    });
  });
}
