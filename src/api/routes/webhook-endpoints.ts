import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { ServiceError } from '../../shared/errors.js';
import { WebhookEndpointRequest } from '../../shared/schemas.js';
import { assertWebhookTarget } from '../../shared/url-guard.js';
import { newWebhookSecret } from '../../shared/webhook-signing.js';
import { limitBody } from '../body-limit.js';
import type { ApiDeps } from '../deps.js';
import { readJson } from '../validate.js';

/**
 * A registration is a URL and a secret: 16 KB is generous (URLs past 8 KB are refused by most
 * servers) and keeps a stream of huge bodies from being buffered whole (issue 13.5: six 500 MB
 * bodies took the API to 5.4 GB RSS).
 */
export const WEBHOOK_ENDPOINT_BODY_BYTES = 16 * 1024;

/**
 * Registered webhook receivers: told about every batch, each signed with its own secret
 * (returned once, at registration). A receiver answering 410 is disabled.
 */
export function webhookEndpointRoutes(deps: ApiDeps): Hono {
  const { store } = deps;
  const app = new Hono();

  app.post('/api/v1/webhook-endpoints', limitBody(WEBHOOK_ENDPOINT_BODY_BYTES), async (c) => {
    const req = await readJson(c, WebhookEndpointRequest);
    await assertWebhookTarget(req.url, deps.config.webhook.allow);
    const endpoint = {
      endpoint_id: `we_${randomUUID().replace(/-/g, '')}`,
      url: req.url,
      secret: req.secret ?? newWebhookSecret(),
      created_at: new Date().toISOString(),
      disabled_at: null,
      ...(req.events ? { events: [...new Set(req.events)] } : {}),
    };
    await store.addWebhookEndpoint(endpoint);
    return c.json(endpoint, 201);
  });

  app.get('/api/v1/webhook-endpoints', async (c) => {
    const endpoints = await store.listWebhookEndpoints();
    return c.json({ endpoints: endpoints.map(({ secret: _secret, ...visible }) => visible) });
  });

  app.delete('/api/v1/webhook-endpoints/:id', async (c) => {
    if (!(await store.deleteWebhookEndpoint(c.req.param('id')))) {
      throw new ServiceError('NOT_FOUND', `no webhook endpoint ${c.req.param('id')}`);
    }
    return c.body(null, 204);
  });
  return app;
}
