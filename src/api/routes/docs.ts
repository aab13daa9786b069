import { Hono } from 'hono';
import { html, raw } from 'hono/html';
import { openApiDocument } from '../../shared/openapi.js';
import type { ApiDeps } from '../deps.js';

/**
 * GET /openapi.json and a plain /docs page rendered from it. Self-contained on purpose: the
 * usual Swagger UI loads from a CDN, which self-hosted and offline deployments cannot reach.
 */
export function docsRoutes(deps: ApiDeps): Hono {
  const doc = openApiDocument(deps.config.version);
  const app = new Hono();
  app.get('/openapi.json', (c) => c.json(doc));
  app.get('/docs', (c) => {
    const paths = doc.paths as Record<string, Record<string, { summary: string }>>;
    const rows = Object.entries(paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(
        ([method, op]) => html`<li><code>${method.toUpperCase()} ${path}</code> — ${op.summary}</li>`,
      ),
    );
    return c.html(
      html`<!doctype html>
        <html>
          <head>
            <meta charset="utf-8" />
            <title>Shelia API</title>
          </head>
          <body style="font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto">
            <h1>Shelia face recognition API ${deps.config.version}</h1>
            <p>
              Send <code>X-API-Key</code> on every call except health and metrics. Errors are
              <code>{"error": "...", "error_code": "..."}</code>. Machine-readable:
              <a href="/openapi.json">/openapi.json</a>.
            </p>
            <ul>
              ${rows}
            </ul>
            <h2>Schemas</h2>
            <pre>
${raw(escape(JSON.stringify((doc.components as { schemas: unknown }).schemas, null, 2)))}</pre>
          </body>
        </html>`,
    );
  });
  return app;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
