import { randomUUID } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import { ServiceError } from '../../shared/errors.js';
import { WebhookEndpointRequest } from '../../shared/schemas.js';
import { assertWebhookTarget } from '../../shared/url-guard.js';
import { newWebhookSecret } from '../../shared/webhook-signing.js';
import { limitBody } from '../body-limit.js';
import type { ApiDeps } from '../deps.js';
import { readJson } from '../validate.js';
import { errors, idParam, jsonBody, ok, routeApp } from '../docs/openapi-kit.js';
import { WebhookEndpointCreated, WebhookEndpointList } from '../docs/responses.js';

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
export function webhookEndpointRoutes(deps: ApiDeps) {
  const { store } = deps;
  const app = routeApp();

  const register = createRoute({
    method: 'post',
    path: '/webhook-endpoints',
    operationId: 'registerWebhookEndpoint',
    tags: ['Webhooks'],
    summary: 'Register a receiver told about every batch (its own whsec_ secret, returned once)',
    middleware: [limitBody(WEBHOOK_ENDPOINT_BODY_BYTES)] as const,
    request: {
      body: jsonBody(app, 'WebhookEndpointRequest', WebhookEndpointRequest, {
        url: 'https://hr.example.org/hooks/shelia',
      }),
    },
    responses: {
      201: ok(WebhookEndpointCreated, 'The endpoint with its secret'),
      ...errors('INVALID_REQUEST', 'UNAUTHORIZED', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE'),
    },
  });
  app.openapi(register, async (c) => {
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

  const list = createRoute({
    method: 'get',
    path: '/webhook-endpoints',
    operationId: 'listWebhookEndpoints',
    tags: ['Webhooks'],
    summary: 'Registered endpoints (without secrets)',
    responses: { 200: ok(WebhookEndpointList, 'The endpoints'), ...errors('UNAUTHORIZED') },
  });
  app.openapi(list, async (c) => {
    const endpoints = await store.listWebhookEndpoints();
    return c.json({ endpoints: endpoints.map(({ secret: _secret, ...visible }) => visible) }, 200);
  });

  const remove = createRoute({
    method: 'delete',
    path: '/webhook-endpoints/{id}',
    operationId: 'removeWebhookEndpoint',
    tags: ['Webhooks'],
    summary: 'Remove a registered endpoint',
    request: { params: idParam('we_4f0c2d9a7b1e4e3f8a6b5c4d3e2f1a0b', 'The endpoint_id') },
    responses: { 204: { description: 'Removed' }, ...errors('UNAUTHORIZED', 'NOT_FOUND') },
  });
  app.openapi(remove, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await store.deleteWebhookEndpoint(id))) {
      throw new ServiceError('NOT_FOUND', `no webhook endpoint ${id}`);
    }
    return c.body(null, 204);
  });
  return app;
}
