/**
 * Issue 13.4, DNS rebinding: the guard resolved the webhook host, then fetch resolved it again
 * (and reused pooled sockets), so a resolver answering a public address at check time and
 * 127.0.0.2 at connect time got 4 of 4 signed POSTs into a loopback service. Now the address
 * connected to is the address checked, on a fresh connection per delivery.
 *
 * The rebinding resolver replaces the system one (`dns.lookup` and `dns.promises.lookup`, which
 * the guard, net.connect and fetch all go through) for names under `.rebind.test`, so these
 * tests drive the real worker processor exactly as a hostile DNS server would, and fail on the
 * code before the fix. This file runs in its own process; the stub is removed afterwards.
 */
import assert from 'node:assert/strict';
import dns, { type LookupAddress } from 'node:dns';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { UnrecoverableError, type Job } from 'bullmq';
import { loadConfig } from '../../src/shared/config.js';
import type { Store, WebhookDelivery } from '../../src/shared/store/index.js';
import type { HostResolver } from '../../src/shared/url-guard.js';
import { processWebhook } from '../../src/worker/processors/webhook.js';
import type { ProcessorDeps } from '../../src/worker/processors/types.js';
import { logger } from '../helpers/service.js';
import { postWebhook } from '../../src/worker/webhook-post.js';

const PUBLIC = '93.184.216.34';
const TARGET = '127.0.0.2';
const SECRET = 'whsec_c2hlbGlhLXJlYmluZGluZy10ZXN0';

/** Per name: how often it was resolved. The first answer is public (what the check sees), every later one 127.0.0.2. */
const resolutions = new Map<string, number>();
function rebind(host: string): LookupAddress[] {
  const n = resolutions.get(host) ?? 0;
  resolutions.set(host, n + 1);
  return [{ address: n === 0 ? PUBLIC : TARGET, family: 4 }];
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;
const realLookup = dns.lookup;
const realPromisesLookup = dns.promises.lookup;

function installRebindingDns(): void {
  const lookup = (host: string, options: unknown, callback?: unknown): void => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    if (!host.endsWith('.rebind.test')) {
      realLookup(host, (typeof options === 'function' ? {} : options) as dns.LookupAllOptions, cb);
      return;
    }
    const answers = rebind(host);
    const all = typeof options === 'object' && options !== null && 'all' in options && options.all === true;
    if (all) process.nextTick(cb, null, answers);
    else process.nextTick(cb, null, answers[0]?.address ?? '', 4);
  };
  const promisesLookup = (host: string, options?: dns.LookupOptions) =>
    host.endsWith('.rebind.test')
      ? Promise.resolve(options?.all ? rebind(host) : rebind(host)[0])
      : realPromisesLookup(host, options ?? {});
  dns.lookup = lookup as unknown as typeof dns.lookup;
  dns.promises.lookup = promisesLookup as unknown as typeof dns.promises.lookup;
  // The code before the fix imported `lookup` from node:dns/promises by name: refresh those bindings.
  syncBuiltinESMExports();
}

function removeRebindingDns(): void {
  dns.lookup = realLookup;
  dns.promises.lookup = realPromisesLookup;
  syncBuiltinESMExports();
}

/** A loopback service on 127.0.0.2 that counts the connections and requests that reach it. */
let server: Server;
let port = 0;
const reached = { connections: 0, requests: 0 };
before(async () => {
  installRebindingDns();
  server = createServer((req, res) => {
    reached.requests++;
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.on('connection', () => reached.connections++);
  server.listen(0, TARGET);
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  removeRebindingDns();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  reached.connections = 0;
  reached.requests = 0;
});

/** The worker's webhook processor with a store that only knows one endpoint, and records deliveries. */
function worker(allow: string) {
  const deliveries: WebhookDelivery[] = [];
  const store: Pick<Store, 'getWebhookEndpoint' | 'addWebhookDelivery'> = {
    getWebhookEndpoint: (endpoint_id) =>
      Promise.resolve({ endpoint_id, url: '', secret: SECRET, created_at: '', disabled_at: null }),
    addWebhookDelivery: (d) => {
      deliveries.push(d);
      return Promise.resolve();
    },
  };
  const config = loadConfig({ WEBHOOK_ALLOW: allow, WEBHOOK_TIMEOUT_MS: '5000' });
  const deps = { config, store, logger } as ProcessorDeps;
  const deliver = (host: string, n: number) =>
    processWebhook(
      {
        delivery_id: `msg_rebind_${n}`,
        job_id: 'job_rebind',
        event: 'job.completed',
        url: `http://${host}:${port}/hook`,
        endpoint_id: 'we_rebind',
        payload: { n },
      },
      deps,
      { attemptsMade: 0 } as Job,
    );
  return { deliver, deliveries };
}

describe('webhook delivery under DNS rebinding', () => {
  it('lets none of 4 deliveries reach 127.0.0.2 when the host rebinds between check and connect', async () => {
    const { deliver, deliveries } = worker('');
    const outcomes: string[] = [];
    for (let n = 0; n < 4; n++) {
      // A fresh name each time, so each delivery sees "public, then loopback" from the start.
      const outcome = await deliver(`d${n}.rebind.test`, n).then(
        (r) => `delivered ${r.status_code}`,
        (err: Error) => (err instanceof UnrecoverableError ? 'refused' : `retryable: ${err.message}`),
      );
      outcomes.push(outcome);
    }
    assert.deepEqual(
      { ...reached },
      { connections: 0, requests: 0 },
      `reached the loopback service: ${outcomes.join(', ')}`,
    );
    assert.deepEqual(outcomes, ['refused', 'refused', 'refused', 'refused']);
    assert.equal(deliveries.length, 4);
    for (const d of deliveries) {
      assert.equal(d.delivered, false);
      assert.equal(d.status_code, null);
      assert.match(d.error ?? '', /resolved at connect time to 127\.0\.0\.2, a loopback\/private\/reserved/);
    }
  });

  it('connects to the address the connection resolved (control: allowed, the same resolver reaches 127.0.0.2)', async () => {
    // Without this, the test above would also pass if deliveries never used this resolver at all.
    const { deliver, deliveries } = worker(`${TARGET}`);
    assert.deepEqual(await deliver('control.rebind.test', 0), { delivered: true, status_code: 200 });
    assert.deepEqual({ ...reached }, { connections: 1, requests: 1 });
    assert.equal(deliveries[0]?.delivered, true);
  });

  it('opens, resolves and checks a fresh connection for every delivery: no pooled socket', async () => {
    const { deliver } = worker(TARGET);
    for (let n = 0; n < 3; n++) await deliver('pool.rebind.test', n);
    assert.deepEqual({ ...reached }, { connections: 3, requests: 3 });
    // Once per delivery for the check, once per delivery for its connection.
    assert.equal(resolutions.get('pool.rebind.test'), 6);
  });
});

describe('postWebhook: the connect-time check', () => {
  const post = (resolve: HostResolver, allow: readonly string[] = [], host = 'seam.test') =>
    postWebhook({
      url: `http://${host}:${port}/hook`,
      body: '{}',
      headers: {},
      timeoutMs: 5000,
      allow,
      resolve,
    });
  const answer =
    (...addresses: string[]): HostResolver =>
    () =>
      Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

  it('refuses the connection when any resolved address is forbidden, in any notation', async () => {
    for (const addresses of [
      [TARGET],
      [PUBLIC, TARGET],
      [TARGET, PUBLIC],
      ['::ffff:127.0.0.2'],
      ['::7f00:2'],
      ['fe80::1%lo'],
      ['64:ff9b::7f00:2'],
    ]) {
      await assert.rejects(
        post(answer(...addresses)),
        /resolved at connect time to .* loopback\/private\/reserved/,
      );
    }
    assert.deepEqual({ ...reached }, { connections: 0, requests: 0 });
  });

  it('connects when WEBHOOK_ALLOW lists the address, a CIDR containing it, or the host name', async () => {
    assert.equal(await post(answer(TARGET), [TARGET]), 200);
    assert.equal(await post(answer(TARGET), ['127.0.0.0/8']), 200);
    assert.equal(await post(answer(TARGET), ['Seam.Test']), 200);
    assert.deepEqual({ ...reached }, { connections: 3, requests: 3 });
  });

  it('refuses an IP literal, which never goes through lookup', async () => {
    await assert.rejects(
      postWebhook({ url: `http://${TARGET}:${port}/`, body: '', headers: {}, timeoutMs: 5000, allow: [] }),
      /127\.0\.0\.2, a loopback/,
    );
    assert.deepEqual({ ...reached }, { connections: 0, requests: 0 });
  });
});
