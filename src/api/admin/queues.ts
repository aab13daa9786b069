import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono } from 'hono';
import type { Config } from '../../shared/config.js';
import { dashboardAuth } from './auth.js';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board's stock page links Google Fonts: offline it only delays the page, online it tells
 * Google who opened the dashboard. The link is taken out; the UI falls back to system fonts.
 */
const FONT_LINK = /<link[^>]+href="https:\/\/fonts\.googleapis\.com[^"]*"[^>]*>/g;

/**
 * Bull Board over the API's own queues (the same Queue objects, so no extra Redis connections),
 * behind the API key, read-only unless QUEUE_DASHBOARD=admin. Its script, styles and images are
 * served from @bull-board/ui's folder by this process.
 */
export function queueDashboard(config: Config, queues: readonly Queue[]): Hono {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(QUEUE_DASHBOARD_PATH);
  const readOnlyMode = config.queueDashboard !== 'admin';
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Shelia queues' } },
  });
  const app = new Hono();
  app.use('*', dashboardAuth(config.apiKeys, config.apiKeyHashes));
  app.use('*', async (c, next) => {
    await next();
    if (!(c.res.headers.get('content-type') ?? '').startsWith('text/html')) return;
    const page = (await c.res.text()).replace(FONT_LINK, '');
    c.res = new Response(page, { status: c.res.status, headers: c.res.headers });
  });
  app.route('/', serverAdapter.registerPlugin());
  return app;
}
