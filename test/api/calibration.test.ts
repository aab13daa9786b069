/**
 * GET /api/v1/calibration and `shelia calibrate` on a gallery of REAL embeddings: LFW photos
 * run through the face pipeline, enrolled straight into the store.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { ApiDeps } from '../../src/api/deps.js';
import { errorHandler } from '../../src/api/error-handler.js';
import { JobGateway } from '../../src/api/job-gateway.js';
import { jobDeps } from '../../src/api/job-deps.js';
import { apiKeyAuth } from '../../src/api/middleware/auth.js';
import { calibrationRoutes } from '../../src/api/routes/calibration.js';
import { runCalibrate } from '../../src/cli/calibrate.js';
import type { CalibrationReport } from '../../src/shared/calibration.js';
import { loadConfig } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { loadManifest, loadOpenSet } from '../../src/shared/model-manifest.js';
import { openPersistence, type Persistence } from '../../src/shared/store/index.js';
import { InferencePool } from '../../src/worker/inference/pool.js';
import { defaultOptions, identities, modelsDir, photo } from '../helpers/faces.js';
import { expectError, freePort, REDIS_URL, scanKeys } from '../helpers/service.js';

const PEOPLE = 15;
const PHOTOS_PER_PERSON = 4;
const API_KEY = 'calibration-test-key';

let dir: string;
let persistence: Persistence;
let jobs: JobGateway;
let app: Hono;
let server: ServerType;
let baseUrl: string;
const enrolled = { users: 0, templates: 0 };
const prefix = `test-calib-${process.pid}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelia-calibration-'));
  const config = loadConfig({
    ...process.env,
    KEY_PREFIX: prefix,
    DATA_DIR: dir,
    LOG_LEVEL: 'silent',
    MODELS_DIR: modelsDir,
  });
  persistence = await openPersistence(config);
  jobs = new JobGateway(config);
  const { store } = persistence;
  const manifest = loadManifest(config.modelsDir);
  const pool = new InferencePool({ modelsDir, size: 2 });
  try {
    for (const person of identities(2).slice(0, PEOPLE)) {
      const photos = Array.from({ length: Math.min(person.photos, PHOTOS_PER_PERSON) }, (_, i) => i + 1);
      const results = await Promise.all(
        photos.map((n) => pool.analyse(photo(person.name, n), defaultOptions)),
      );
      for (const [i, result] of results.entries()) {
        const face = result.faces[0];
        if (!face) continue;
        const user = {
          user_id: person.name,
          name: person.name.replace(/_/g, ' '),
          group: 'lfw',
          metadata: {},
        };
        const sha = createHash('sha256')
          .update(photo(person.name, i + 1))
          .digest('hex');
        const template = {
          model: manifest.embedding_model_id,
          embedding: face.embedding,
          detection_score: face.detection_score,
          quality: face.quality,
          photo_sha256: sha,
        };
        await store.enroll(user, template, 'add');
        enrolled.templates++;
      }
      enrolled.users++;
    }
    // A group where nobody has a second photo: no genuine pairs.
    for (const { name } of identities(1)
      .filter((p) => p.photos === 1)
      .slice(0, 2)) {
      const face = (await pool.analyse(photo(name, 1), defaultOptions)).faces[0];
      assert.ok(face, `no face in ${name}`);
      await store.enroll(
        { user_id: `solo-${name}`, name, group: 'solo', metadata: {} },
        {
          model: manifest.embedding_model_id,
          embedding: face.embedding,
          detection_score: 1,
          quality: face.quality,
          photo_sha256: name,
        },
        'add',
      );
      // The same face as a template of another model, in the calibrated group: never paired.
      await store.enroll(
        { user_id: `other-model-${name}`, name, group: 'lfw', metadata: {} },
        {
          model: 'other-model@1',
          embedding: face.embedding,
          detection_score: 1,
          quality: face.quality,
          photo_sha256: name,
        },
        'add',
      );
    }
  } finally {
    await pool.close();
  }
  assert.ok(await jobs.ping(2000), 'Redis answers');
  const deps: ApiDeps = {
    config,
    logger: createLogger('silent', 't'),
    ...jobDeps(jobs, config),
    manifest,
    openSet: loadOpenSet(config.modelsDir, manifest),
    registry: new Registry(),
    startedAt: Date.now(),
    store,
    blobs: persistence.blobs,
  };
  // The route as the app will mount it: behind the API-key check, with the shared error handler.
  app = new Hono();
  app.use('/api/*', apiKeyAuth([API_KEY], []));
  app.route('/', calibrationRoutes(deps));
  app.onError(errorHandler(deps.logger));
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await jobs?.close();
  await persistence?.close();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const left = await scanKeys(redis, prefix);
  if (left.length > 0) await redis.del(...left);
  await redis.quit();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const get = (path: string) => app.request(path, { headers: { 'x-api-key': API_KEY } });

describe('GET /api/v1/calibration on real faces', () => {
  it('separates genuine from impostor pairs, with the EER threshold where this model puts it', async () => {
    const res = await get('/api/v1/calibration?group=lfw');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const r = (await res.json()) as CalibrationReport;
    assert.equal(r.status, 'ok', r.message);
    assert.equal(r.group, 'lfw');
    assert.equal(r.counts.users, enrolled.users); // the two users of another model are left out
    assert.equal(r.counts.templates, enrolled.templates);
    assert.ok(r.counts.genuine_pairs >= PEOPLE, `${r.counts.genuine_pairs} genuine pairs`);
    const t = enrolled.templates;
    assert.equal(r.counts.genuine_pairs + r.counts.impostor_pairs, (t * (t - 1)) / 2);
    assert.equal(r.impostor_sampling.method, 'all');
    const { genuine, impostor } = r.distances;
    assert.ok(genuine && impostor && genuine.mean < impostor.mean, JSON.stringify(r.distances));
    assert.ok(r.eer && r.eer.threshold > 0.5 && r.eer.threshold < 0.85, `EER ${JSON.stringify(r.eer)}`);
    assert.ok(r.eer.eer < 0.1, `EER ${r.eer.eer}`);
    // ~1,000 impostor pairs cannot resolve FAR 1e-3: null with the reason, published threshold kept.
    assert.ok(r.far_targets.every((f) => f.threshold === null && /impostor pairs/.test(f.reason ?? '')));
    assert.equal(r.recommendation?.level, 'balanced');
    assert.equal(r.model, loadManifest(modelsDir).embedding_model_id);
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  it('returns the chart as image/svg+xml', async () => {
    const res = await get('/api/v1/calibration?group=lfw&format=svg');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    const svg = await res.text();
    assert.ok(svg.startsWith('<?xml') && svg.includes('<svg') && svg.trimEnd().endsWith('</svg>'));
    assert.ok(svg.includes('genuine: same person') && svg.includes('group &quot;lfw&quot;'));
  });

  it('covers every group without ?group', async () => {
    const r = (await (await get('/api/v1/calibration')).json()) as CalibrationReport;
    assert.equal(r.group, null);
    assert.equal(r.counts.users, enrolled.users + 2);
  });

  it('answers 200 insufficient_data, saying what is missing, for a group without genuine pairs', async () => {
    const res = await get('/api/v1/calibration?group=solo');
    assert.equal(res.status, 200);
    const r = (await res.json()) as CalibrationReport;
    assert.equal(r.status, 'insufficient_data');
    assert.match(r.message, /at least one user with 2 or more templates/);
    assert.equal(r.eer, null);
    const empty = (await (await get('/api/v1/calibration?group=nobody')).json()) as CalibrationReport;
    assert.deepEqual(empty.missing, [
      'at least 2 enrolled users (found 0)',
      'genuine pairs: at least one user with 2 or more templates (found none)',
    ]);
    const svg = await (await get('/api/v1/calibration?group=solo&format=svg')).text();
    assert.ok(svg.includes('Not enough data to calibrate'));
  });

  it('answers 400 INVALID_REQUEST naming the field for a bad format or group', async () => {
    const bad = await expectError(await get('/api/v1/calibration?format=pdf'), 400, 'INVALID_REQUEST');
    assert.equal(bad.field, 'format');
    const long = await expectError(
      await get(`/api/v1/calibration?group=${'g'.repeat(129)}`),
      400,
      'INVALID_REQUEST',
    );
    assert.equal(long.field, 'group');
  });
});

describe('shelia calibrate', () => {
  const capture = () => {
    const lines: string[] = [];
    return { lines, io: { log: (s: string) => lines.push(s), error: (s: string) => lines.push(`ERR ${s}`) } };
  };

  it('writes the SVG report and prints the summary', async () => {
    const out = join(dir, 'report.svg');
    const { lines, io } = capture();
    const code = await runCalibrate(
      ['--out', out, '--group', 'lfw', '--server', baseUrl, '--key', API_KEY],
      {},
      io,
    );
    assert.equal(code, 0, lines.join('\n'));
    const svg = await readFile(out, 'utf8');
    assert.ok(svg.includes('<svg') && svg.includes('impostor: different people'));
    assert.match(lines.join('\n'), /equal error rate .* at threshold 0\.\d+/);
    assert.match(lines.join('\n'), /recommended threshold 0\.665/);
  });

  it('writes JSON for a .json file, taking the key from SHELIA_API_KEY', async () => {
    const out = join(dir, 'report.json');
    const { lines, io } = capture();
    const env = { SHELIA_URL: baseUrl, SHELIA_API_KEY: API_KEY };
    assert.equal(await runCalibrate(['--out', out, '--group', 'lfw'], env, io), 0, lines.join('\n'));
    const r = JSON.parse(await readFile(out, 'utf8')) as CalibrationReport;
    assert.equal(r.status, 'ok');
  });

  it('exits 1 with the reason when there is not enough data', async () => {
    const { lines, io } = capture();
    assert.equal(await runCalibrate(['--group', 'solo', '--server', baseUrl, '--key', API_KEY], {}, io), 1);
    assert.match(lines.join('\n'), /Not enough data to calibrate/);
  });

  it('exits 2 on a wrong key, an unreachable server, or a bad option', async () => {
    const { lines, io } = capture();
    assert.equal(await runCalibrate(['--server', baseUrl, '--key', 'wrong'], {}, io), 2);
    assert.match(lines.join('\n'), /401: UNAUTHORIZED/);
    const port = await freePort();
    assert.equal(await runCalibrate(['--server', `http://127.0.0.1:${port}`], {}, io), 2);
    assert.match(lines.at(-1) ?? '', /cannot get the calibration .*ECONNREFUSED/);
    assert.equal(await runCalibrate(['--bogus'], {}, io), 2);
    assert.equal(await runCalibrate(['--server', 'ftp://x'], {}, io), 2);
  });
});
