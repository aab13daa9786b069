/**
 * WEBHOOK_ALLOW as docker-compose.yml documents it: a receiver on the compose network
 * (`http://backend:3000`) is private, so refused by default, and allowed by its host name or by
 * a CIDR holding its address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceError } from '../../src/shared/errors.js';
import { assertWebhookTarget } from '../../src/shared/url-guard.js';

const refused = (err: unknown) => err instanceof ServiceError && err.code === 'INVALID_REQUEST';

describe('webhook targets on a compose network', () => {
  it('a private address (what a compose service name resolves to) is refused without WEBHOOK_ALLOW', async () => {
    await assert.rejects(assertWebhookTarget('http://172.18.0.5:3000/hooks', []), refused);
  });

  it('WEBHOOK_ALLOW=backend allows http://backend:3000 by name, without resolving it', async () => {
    // `backend` does not resolve on this machine: an allowed name is never looked up.
    const url = await assertWebhookTarget('http://backend:3000/hooks', ['backend']);
    assert.equal(url.host, 'backend:3000');
    await assert.rejects(assertWebhookTarget('http://backend:3000/hooks', ['other']), refused);
  });

  it('a CIDR in WEBHOOK_ALLOW allows the addresses inside it only', async () => {
    const allow = ['backend', '172.16.0.0/12'];
    assert.ok(await assertWebhookTarget('http://172.18.0.5:3000/hooks', allow));
    await assert.rejects(assertWebhookTarget('http://10.0.0.5:3000/hooks', allow), refused);
  });
});
