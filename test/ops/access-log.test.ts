/**
 * The access log of the real API process: one JSON line per request with method, route
 * pattern, status, duration and request id; `X-Request-Id` kept when valid, generated
 * otherwise, echoed either way; never the API key or the body.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { modelsDir, repoRoot } from '../helpers/faces.js';
import { freshPrefix, REDIS_URL, scanKeys, waitFor } from '../helpers/service.js';

const KEY = 'access-log-test-key-0123456789';

interface Line {
  msg: string;
  level: number;
  req_id?: string;
  method?: string;
  route?: string;
  status?: number;
  ms?: number;
  error_code?: string;
}

describe('access log', () => {
  let child: ChildProcess;
  let out = '';
  let base = '';
  let dataDir: string;
  const prefix = freshPrefix('access');
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);
  const accessFor = async (reqId: string) => {
    await waitFor(() => lines().some((l) => l.req_id === reqId), `the access line of ${reqId}`);
    return lines().filter((l) => l.req_id === reqId);
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'shelia-access-'));
    child = spawn(process.execPath, [join(repoRoot, 'dist/src/api/main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL,
        KEY_PREFIX: prefix,
        DATA_DIR: dataDir,
        MODELS_DIR: modelsDir,
        PORT: '0',
        API_KEYS: KEY,
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    await waitFor(() => lines().some((l) => l.msg === 'api listening'), 'api listening', 60_000);
    const listening = lines().find((l) => l.msg === 'api listening') as unknown as { port: number };
    base = `http://127.0.0.1:${listening.port}`;
  });
  after(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const redis = new Redis(REDIS_URL);
    const left = await scanKeys(redis, prefix);
    if (left.length) await redis.del(...left);
    await redis.quit();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps a valid X-Request-Id, echoes it, and logs the route pattern, status and error_code', async () => {
    const res = await fetch(`${base}/api/v1/jobs/job_nosuchjob`, {
      headers: { 'x-api-key': KEY, 'x-request-id': 'caller-id-42' },
    });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-request-id'), 'caller-id-42');
    const [line, ...more] = await accessFor('caller-id-42');
    assert.equal(more.length, 0, 'one line per request');
    assert.equal(line?.msg, 'request');
    assert.equal(line?.method, 'GET');
    assert.equal(line?.route, '/api/v1/jobs/:id');
    assert.equal(line?.status, 404);
    assert.equal(line?.error_code, 'JOB_NOT_FOUND');
    assert.equal(typeof line?.ms, 'number');
  });

  it('replaces an invalid X-Request-Id with a generated one', async () => {
    const res = await fetch(`${base}/api/v1/health`, { headers: { 'x-request-id': 'bad id {"level":60}' } });
    const id = res.headers.get('x-request-id') ?? '';
    assert.match(id, /^[0-9a-f-]{36}$/);
    const [line] = await accessFor(id);
    assert.equal(line?.route, '/api/v1/health');
    assert.equal(line?.level, 20, 'health checks are logged at debug');
  });

  it('generates one when none is given; a refused key is logged without the key or the body', async () => {
    const res = await fetch(`${base}/api/v1/identify`, {
      method: 'POST',
      headers: { 'x-api-key': 'wrong-key-secret-value', 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'BODY-MARKER-aGVsbG8=' }),
    });
    assert.equal(res.status, 401);
    const id = res.headers.get('x-request-id') ?? '';
    assert.match(id, /^[0-9a-f-]{36}$/);
    const [line] = await accessFor(id);
    assert.equal(line?.error_code, 'UNAUTHORIZED');
    assert.equal(line?.route, '/api/v1/identify', 'the pattern the request was for');
    assert.doesNotMatch(out, /wrong-key-secret-value|BODY-MARKER|access-log-test-key/);
  });
});
