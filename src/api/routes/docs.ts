import type { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import type { ApiDeps } from '../deps.js';
import { openApiDocument } from '../docs/document.js';
import { docsPage } from '../docs/page.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * GET /openapi.json, generated from the routes mounted on `api` (built on first request, when
 * every route is mounted), and the /docs reference page that renders it.
 */
export function docsRoutes(api: OpenAPIHono, deps: ApiDeps): Hono {
  let doc: Record<string, unknown> | undefined;
  const document = () => (doc ??= openApiDocument(api, deps.config.version));
  const operations = () =>
    Object.entries(document().paths as Record<string, Record<string, { summary?: string }>>).flatMap(
      ([path, ops]) =>
        METHODS.filter((m) => ops[m]).map((m) => ({ method: m, path, summary: ops[m]?.summary ?? '' })),
    );
  const app = new Hono();
  app.get('/openapi.json', (c) => c.json(document()));
  app.route('/', docsPage(`Shelia face recognition API ${deps.config.version}`, operations));
  return app;
}
