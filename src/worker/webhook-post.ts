import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  assertLiteralTarget,
  guardedLookup,
  systemResolver,
  type HostResolver,
} from '../shared/url-guard.js';

export interface WebhookPost {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** WEBHOOK_ALLOW. */
  allow: readonly string[];
  resolve?: HostResolver;
}

/**
 * One webhook POST over node:http(s), resolving to the receiver's status code. The connection
 * is made with `guardedLookup`, so the address checked is the address connected to (global
 * fetch resolves again after our check: DNS rebinding). `agent: false` gives every delivery a
 * fresh connection, closed afterwards: no pooled socket outlives the check that made it.
 * Redirects are not followed (node:http never does). Fails with INVALID_REQUEST when the
 * target is forbidden, with Error('timed out') when no answer came within `timeoutMs`.
 *
 * Why not fetch with an undici Agent: Node's bundled undici does not export Agent and the
 * `undici` package is not a dependency; node:http takes the same `lookup` hook.
 */
export async function postWebhook(p: WebhookPost): Promise<number> {
  const url = new URL(p.url);
  assertLiteralTarget(url, p.allow);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const signal = AbortSignal.timeout(p.timeoutMs);
  return await new Promise<number>((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...p.headers, 'content-length': String(Buffer.byteLength(p.body)) },
        agent: false,
        lookup: guardedLookup(p.allow, p.resolve ?? systemResolver),
        signal,
      },
      (res) => {
        resolve(res.statusCode ?? 0);
        // The body is not wanted; destroying closes the connection rather than draining it.
        res.destroy();
      },
    );
    req.on('error', (err) => reject(signal.aborted ? new Error('timed out', { cause: err }) : err));
    req.end(p.body);
  });
}
