/**
 * HTTP API benchmark: what a client of the integration guide sees, end to end (HTTP, JSON,
 * Redis queue, worker pool and back).
 *
 *   npm run bench:api -- [--url URL] [--key K] [--duration S] [--refs N] [--photo FILE] [--json]
 *
 * Cases: POST /api/v1/embed with a 640x480 JPEG from one client (latency) and from 8 at once
 * (throughput), and POST /api/v1/compare against N (default 10,000) random 512-d references
 * from one client. Only 200 responses count towards latency and req/s; anything else is
 * reported, so a fast stream of errors cannot pass for speed. With --json the last stdout line
 * is one JSON object with every figure.
 *
 * Without --url the service is started as a child process (dist/src/all-in-one.js) on a free
 * port with its own KEY_PREFIX, and its Redis keys are deleted afterwards. A child rather than
 * in-process: the load generator is busy on its own thread, and in one process it would steal
 * the event loop the API answers on, measuring autocannon as much as Shelia.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { health, spawnService, stopOnSignal, stopService, waitHealthy, type Spawned } from './service.js';
import { machine, positiveInt, quantile, r2 } from './stats.js';
import { mulberry32 } from '../src/shared/prng.js';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    duration: { type: 'string', default: '10' },
    refs: { type: 'string', default: '10000' },
    photo: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const duration = positiveInt('duration', args.duration);
const refCount = positiveInt('refs', args.refs);
// dist/bench/api.js -> repo root is two levels up.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const lfwDir = path.resolve(repoRoot, '..', 'shared', 'faces', 'lfw-dev');
const EMBED_CONCURRENCY = 8;
const FRAME = { width: 640, height: 480 };
// Warm-up requests before each case: the first calls pay for JIT and lazily built state.
const WARM_UP = 3;

const log = (line: string) => console.log(line);
// Progress goes to stderr so stdout holds only the table (and, with --json, the JSON line last).
const note = (line: string) => console.error(line);

// --- the service under test: bench/service.ts spawns, waits for and cleans up after it ---

// --- request bodies, built once so no case measures JSON.stringify ---

/** One LFW photo (250x250) scaled up and centred on a grey 640x480 frame, like a webcam shot. */
async function buildFrame(): Promise<{ jpeg: Buffer; source: string }> {
  let source = args.photo;
  if (!source) {
    // Sorted, so every run (and machine) uses the same photo.
    const entries = (await readdir(lfwDir, { recursive: true })).filter((e) => /\.jpe?g$/i.test(e)).sort();
    const first = entries[0];
    if (!first) throw new Error(`no photos under ${lfwDir}; pass --photo FILE`);
    source = path.join(lfwDir, first);
  }
  const side = 360;
  const face = await sharp(await readFile(source))
    .resize(side, side)
    .toBuffer();
  const jpeg = await sharp({
    create: { ...FRAME, channels: 3, background: { r: 128, g: 128, b: 128 } },
  })
    .composite([{ input: face, left: (FRAME.width - side) / 2, top: (FRAME.height - side) / 2 }])
    .jpeg({ quality: 90 })
    .toBuffer();
  return { jpeg, source };
}

/**
 * A random unit vector rounded to float32, as a model's output stored by a backend would be:
 * its JSON is the ~18-character decimals real clients send, not short round numbers.
 */
function randomEmbedding(next: () => number, dim = 512): number[] {
  const v = Array.from({ length: dim }, () => {
    // Box-Muller: gaussian components give directions uniform on the sphere.
    const u = Math.max(next(), Number.EPSILON);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  });
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => Math.fround(x / n));
}

function buildCompareBody(count: number): Buffer {
  const next = mulberry32(42);
  const body = {
    query_embedding: randomEmbedding(next),
    reference_embeddings: Array.from({ length: count }, (_, i) => ({
      id: `user-${String(i).padStart(5, '0')}`,
      embedding: randomEmbedding(next),
    })),
    distance_metric: 'cosine',
  };
  return Buffer.from(JSON.stringify(body));
}

// --- the cases ---

interface CaseResult {
  name: string;
  path: string;
  connections: number;
  duration_s: number;
  requests_ok: number;
  non2xx: number;
  status_codes: Record<string, number>;
  errors: number;
  timeouts: number;
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  max_ms: number;
}

async function post(baseUrl: string, urlPath: string, headers: Record<string, string>, body: Buffer) {
  const res = await fetch(`${baseUrl}${urlPath}`, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * One autocannon run. Latencies are collected from the `response` event rather than
 * autocannon's histogram: that one has 1 ms resolution and, by default, includes non-2xx
 * responses, whose latency is not the service's speed.
 */
async function runCase(
  name: string,
  baseUrl: string,
  urlPath: string,
  headers: Record<string, string>,
  body: Buffer,
  connections: number,
  timeoutS: number,
): Promise<CaseResult> {
  note(`running ${name}: ${connections} connection(s), ${duration} s`);
  const okTimes: number[] = [];
  const statusCodes: Record<string, number> = {};
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${baseUrl}${urlPath}`,
        method: 'POST',
        headers,
        body,
        connections,
        duration,
        timeout: timeoutS,
      },
      (err: unknown, res: autocannon.Result) =>
        err ? reject(err instanceof Error ? err : new Error(JSON.stringify(err))) : resolve(res),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
      if (statusCode === 200) okTimes.push(responseTime);
    });
  });
  const non2xx = Object.entries(statusCodes)
    .filter(([code]) => code !== '200')
    .reduce((s, [, n]) => s + n, 0);
  return {
    name,
    path: urlPath,
    connections,
    duration_s: r2(result.duration),
    requests_ok: okTimes.length,
    non2xx,
    status_codes: statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    req_per_s: r2(okTimes.length / result.duration),
    p50_ms: r2(quantile(okTimes, 0.5)),
    p99_ms: r2(quantile(okTimes, 0.99)),
    mean_ms: r2(okTimes.reduce((s, t) => s + t, 0) / (okTimes.length || 1)),
    max_ms: r2(Math.max(0, ...okTimes)),
  };
}

// --- main ---

let spawned: Spawned | undefined;
// Ctrl-C must not leave a service running or keys behind.
stopOnSignal(() => spawned);

try {
  const loadStart = os.loadavg();
  let baseUrl: string;
  let key = args.key;
  if (args.url) {
    baseUrl = args.url.replace(/\/+$/, '');
    const h = await health(baseUrl);
    if (h?.status !== 'ok') note(`warning: ${baseUrl}/api/v1/health says ${h?.status ?? 'nothing'}`);
  } else {
    note('starting the service (node dist/src/all-in-one.js)');
    spawned = await spawnService();
    await waitHealthy(spawned);
    baseUrl = spawned.baseUrl;
    key ??= spawned.key;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers['x-api-key'] = key;

  const frame = await buildFrame();
  const embedBody = Buffer.from(JSON.stringify({ image: frame.jpeg.toString('base64') }));
  const compareBody = buildCompareBody(refCount);
  note(
    `bodies: embed ${r2(embedBody.length / 1024)} KB (JPEG ${r2(frame.jpeg.length / 1024)} KB), ` +
      `compare ${r2(compareBody.length / 1024 / 1024)} MB (${refCount} references)`,
  );

  // Warm up, and make sure the photo really yields a face: a 422 loop would be fast and useless.
  let facesDetected = 0;
  for (let i = 0; i < WARM_UP; i++) {
    const r = await post(baseUrl, '/api/v1/embed', headers, embedBody);
    if (r.status !== 200) throw new Error(`embed warm-up got ${r.status}: ${JSON.stringify(r.json)}`);
    facesDetected = Number(r.json.faces_detected);
  }
  const embed1 = await runCase('embed', baseUrl, '/api/v1/embed', headers, embedBody, 1, 30);
  const embed8 = await runCase('embed', baseUrl, '/api/v1/embed', headers, embedBody, EMBED_CONCURRENCY, 30);
  const warm = await post(baseUrl, '/api/v1/compare', headers, compareBody);
  if (warm.status !== 200)
    throw new Error(`compare warm-up got ${warm.status}: ${JSON.stringify(warm.json)}`);
  // A 100 MB body takes seconds to send and parse; the default 10 s timeout would cut it off.
  const compare1 = await runCase('compare', baseUrl, '/api/v1/compare', headers, compareBody, 1, 120);
  const loadEnd = os.loadavg();

  const cases = [embed1, embed8, compare1];
  const pad = (v: string | number, w: number) => String(v).padStart(w);
  log(
    `\nShelia API bench: ${baseUrl}${spawned ? ' (spawned all-in-one)' : ''}, ${duration} s per case, ` +
      `node ${process.version}, ${os.availableParallelism()} CPUs, load ${loadStart.map(r2).join(' ')}`,
  );
  log(
    `embed: ${FRAME.width}x${FRAME.height} JPEG ${r2(frame.jpeg.length / 1024)} KB ` +
      `(${path.basename(frame.source)}, ${facesDetected} face(s)); ` +
      `compare: ${refCount} x 512-d references, body ${r2(compareBody.length / 1024 / 1024)} MB`,
  );
  log(
    `${'case'.padEnd(10)}${pad('conns', 6)}${pad('200s', 7)}${pad('non-200', 9)}${pad('errors', 8)}` +
      `${pad('req/s', 9)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}${pad('max ms', 10)}`,
  );
  for (const c of cases) {
    log(
      `${c.name.padEnd(10)}${pad(c.connections, 6)}${pad(c.requests_ok, 7)}${pad(c.non2xx, 9)}` +
        `${pad(c.errors, 8)}${pad(c.req_per_s, 9)}${pad(c.p50_ms, 10)}${pad(c.p99_ms, 10)}${pad(c.max_ms, 10)}`,
    );
  }
  // With n samples, p99 is an interpolation between the two slowest once n < 100: say so.
  const thin = cases.filter((c) => c.requests_ok < 100);
  if (thin.length > 0) {
    log(`note: p99 of ${thin.map((c) => `${c.name} x${c.connections}`).join(', ')} rests on < 100 requests`);
  }
  const bad = cases.filter((c) => c.non2xx > 0 || c.errors > 0);
  for (const c of bad) {
    log(
      `warning: ${c.name} x${c.connections}: status codes ${JSON.stringify(c.status_codes)}, ${c.errors} errors`,
    );
  }
  log(`load average at the end: ${loadEnd.map(r2).join(' ')} (other work on the machine skews every figure)`);

  if (args.json) {
    const summary = {
      url: baseUrl,
      spawned: Boolean(spawned),
      duration_s: duration,
      embed_image: {
        width: FRAME.width,
        height: FRAME.height,
        jpeg_bytes: frame.jpeg.length,
        body_bytes: embedBody.length,
        source: path.basename(frame.source),
        faces_detected: facesDetected,
      },
      compare_body: {
        references: refCount,
        dim: 512,
        bytes: compareBody.length,
        mb: r2(compareBody.length / 1024 / 1024),
      },
      embed_c1: embed1,
      embed_c8: embed8,
      compare_c1: compare1,
      all_ok: bad.length === 0,
      ...machine(loadStart, loadEnd),
    };
    log(JSON.stringify(summary));
  }
} finally {
  if (spawned) await stopService(spawned);
}
