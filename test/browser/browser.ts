/**
 * Headless Chromium for page tests: Debian's /usr/bin/chromium driven by playwright-core (which
 * never downloads a browser), and the app served on a real loopback port. Every request the
 * page makes is recorded, so a test can assert that nothing left this origin.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Served {
  origin: string;
  close(): Promise<void>;
}

export async function serveApp(app: Hono): Promise<Served> {
  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve(info.port),
    );
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface Visit {
  page: Page;
  /** Every URL the page requested, in order. */
  requests: string[];
  /** Console errors (a CSP violation shows up here). */
  errors: string[];
}

export async function open(browser: Browser, options: BrowserContextOptions = {}): Promise<Visit> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(30_000);
  return { page, requests, errors };
}

/** The URLs in `requests` not served by `origin` (data: URLs are inline, not fetched). */
export const elsewhere = (requests: string[], origin: string) =>
  requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
