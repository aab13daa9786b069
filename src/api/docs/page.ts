import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { html } from 'hono/html';

/**
 * Swagger UI, served by Shelia itself: self-hosted and offline deployments cannot reach a CDN.
 * Only the files the page uses are read (once, on first request: 1.9 MB, mostly the 1.7 MB
 * bundle), never the package folder.
 */
const require = createRequire(import.meta.url);
const distDir = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, { type: string; body?: Buffer }> = {
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { type: 'text/css; charset=utf-8' },
  'favicon-32x32.png': { type: 'image/png' },
};
const asset = (name: string) => {
  const a = ASSETS[name];
  if (!a) return undefined;
  a.body ??= readFileSync(join(distDir, name));
  return a as { type: string; body: Buffer };
};

/**
 * Nothing but this origin: a CDN URL slipping into the page (or Swagger UI's default validator
 * badge, validator.swagger.io) is refused by the browser instead of leaking the page's visit.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Operation {
  method: string;
  path: string;
  summary: string;
}

/** GET /docs (the reference page with try-it) and /docs/assets/* (its script and styles). */
export function docsPage(title: string, operations: () => Operation[]): Hono {
  const app = new Hono();
  app.get('/docs/assets/:name', (c) => {
    const a = asset(c.req.param('name'));
    if (!a) return c.notFound();
    return c.body(new Uint8Array(a.body), 200, {
      'content-type': a.type,
      'cache-control': 'public, max-age=3600',
    });
  });
  app.get('/docs', (c) => {
    c.header('content-security-policy', CSP);
    return c.html(
      html`<!doctype html>
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>${title}</title>
            <link rel="stylesheet" href="docs/assets/swagger-ui.css" />
            <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png" />
          </head>
          <body>
            <div id="swagger-ui"></div>
            <noscript>
              <h1>${title}</h1>
              <p>
                The reference needs JavaScript; the operations, and <a href="openapi.json">openapi.json</a>:
              </p>
              <ul>
                ${operations().map(
                  (o) => html`<li><code>${o.method.toUpperCase()} ${o.path}</code> — ${o.summary}</li>`,
                )}
              </ul>
            </noscript>
            <script>
              // Loaded from this server (relative, so a reverse proxy's sub-path works too).
              const s = document.createElement('script');
              s.src = 'docs/assets/swagger-ui-bundle.js';
              s.onload = () => {
                window.ui = SwaggerUIBundle({
                  url: 'openapi.json',
                  dom_id: '#swagger-ui',
                  deepLinking: true,
                  // The key typed into "Authorize" survives a reload (kept in this browser only).
                  persistAuthorization: true,
                  displayRequestDuration: true,
                  validatorUrl: null,
                });
              };
              document.head.appendChild(s);
            </script>
          </body>
        </html>`,
    );
  });
  return app;
}
