/**
 * `shelia enroll` end to end: the built CLI, as a child process, against a real service started
 * in this process (worker with the real models + HTTP API, SQLite in a temp dir, Redis keys
 * under a test prefix). The people folder is symlinks to LFW identities, read in place.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/shared/config.js';
import { parseCsv } from '../../src/shared/csv.js';
import { createLogger } from '../../src/shared/logger.js';
import { startWorkerService, type WorkerService } from '../../src/worker/service.js';
import { lfwDir } from '../helpers/faces.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const API_KEY = 'cli-test-key';
const available = existsSync(lfwDir) && existsSync(MAIN);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process's event loop (the service lives here). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, SHELIA_URL: '', SHELIA_API_KEY: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type Row = Record<'user_id' | 'name' | 'outcome' | 'ok' | 'error' | 'job_id', string>;

async function readReport(path: string): Promise<Row[]> {
  const [header, ...rows] = parseCsv(await readFile(path, 'utf8'));
  assert.deepEqual(header, ['user_id', 'name', 'outcome', 'ok', 'error', 'job_id']);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])) as Row);
}

async function deleteKeys(config: Config): Promise<void> {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.keyPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

describe(
  'shelia enroll against a running service',
  { skip: !available && 'no LFW photos or CLI build' },
  () => {
    let tmp: string;
    let config: Config;
    let worker: WorkerService | undefined;
    let api: ApiServer | undefined;
    let server: string;
    let people: string;
    /** The LFW identities enrolled, with their photo counts (2-4 each, under the API's 10). */
    let identities: { name: string; photos: number }[];

    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'shelia-cli-e2e-'));
      config = loadConfig({
        ...process.env,
        PORT: '0',
        KEY_PREFIX: `test-cli-${process.pid}`,
        DATA_DIR: join(tmp, 'data'),
        LOG_LEVEL: 'silent',
        POOL_SIZE: '1',
        API_KEYS: API_KEY,
      });
      const logger = createLogger('silent', 'test-cli');
      worker = await startWorkerService(config, logger);
      api = await startApiServer(config, logger);
      server = `http://127.0.0.1:${api.port}`;

      identities = readdirSync(lfwDir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => ({
          name: d.name,
          photos: readdirSync(join(lfwDir, d.name)).filter((f) => f.endsWith('.jpg')).length,
        }))
        .filter((i) => i.photos >= 2 && i.photos <= 4)
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .slice(0, 6);
      assert.equal(identities.length, 6);
      people = join(tmp, 'people');
      await mkdir(people);
      // Symlinks, not copies; one with a space in the folder name to exercise the sanitising.
      for (const [i, { name }] of identities.entries())
        await symlink(join(lfwDir, name), join(people, i === 0 ? name.replace(/_/g, ' ') : name));
      await mkdir(join(people, 'No Face'));
      await sharp({
        create: { width: 200, height: 200, channels: 3, background: { r: 128, g: 128, b: 128 } },
      })
        .jpeg()
        .toFile(join(people, 'No Face', 'grey.jpg'));
    });

    after(async () => {
      await api?.close();
      await worker?.close(5000);
      if (config) await deleteKeys(config);
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    const userOf = async (id: string) => {
      const res = await fetch(`${server}/api/v1/users/${encodeURIComponent(id)}`, {
        headers: { 'x-api-key': API_KEY },
      });
      assert.equal(res.status, 200, `user ${id}`);
      return (await res.json()) as { name: string; updated_at: string; templates: unknown[] };
    };

    let first: Row[];
    const enroll = (report: string, extra: string[] = []) =>
      cli(['enroll', people, '--server', server, '--chunk', '4', '--report', report, ...extra], {
        SHELIA_API_KEY: API_KEY,
      });

    it('enrolls every identity, reports the face-less photo, exits 1', async () => {
      const run = await enroll(join(tmp, 'first.csv'));
      assert.equal(run.code, 1, run.stderr);
      first = await readReport(join(tmp, 'first.csv'));
      assert.equal(first.length, 7);
      const byName = new Map(first.map((r) => [r.name, r]));
      for (const [i, { name }] of identities.entries()) {
        const row = byName.get(i === 0 ? name.replace(/_/g, ' ') : name);
        assert.ok(row, name);
        assert.deepEqual([row.user_id, row.outcome, row.ok, row.error], [name, 'ENROLLED', 'true', '']);
      }
      const noFace = byName.get('No Face');
      assert.deepEqual(
        [noFace?.user_id, noFace?.outcome, noFace?.ok],
        ['No_Face', 'NO_FACE_DETECTED', 'false'],
      );
      assert.equal(new Set(first.map((r) => r.job_id)).size, 2, '7 people in chunks of 4: two jobs');
      assert.match(run.stdout, /^enrolled: 6\nupdated: 0\nfailed: 1\n {2}NO_FACE_DETECTED: 1\njobs: 2\n/);
      assert.match(run.stderr, /7\/7 people uploaded, 7\/7 done, 1 failed/);
      for (const { name, photos } of identities) assert.equal((await userOf(name)).templates.length, photos);
      assert.equal((await userOf(identities[0]!.name)).name, identities[0]!.name.replace(/_/g, ' '));
    });

    it('run again without the state file: the service replays the same jobs, nothing is enrolled twice', async () => {
      const before = await Promise.all(identities.map(({ name }) => userOf(name)));
      const run = await enroll(join(tmp, 'second.csv'));
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stdout, /jobs: 2, 7 people replayed by the service\n/);
      const second = await readReport(join(tmp, 'second.csv'));
      assert.deepEqual(second, first, 'same outcomes and the same job ids');
      const afterwards = await Promise.all(identities.map(({ name }) => userOf(name)));
      for (const [i, { photos }] of identities.entries()) {
        assert.equal(afterwards[i]?.templates.length, photos);
        assert.equal(afterwards[i]?.updated_at, before[i]?.updated_at, 'the user was not touched again');
      }
    });

    it('run again with the state file: straight to polling, same report', async () => {
      const run = await enroll(join(tmp, 'first.csv'));
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stdout, /jobs: 2, 7 people resumed from the state file\n/);
      assert.deepEqual(await readReport(join(tmp, 'first.csv')), first);
    });

    it('a wrong API key is a usage error (exit 2) naming the problem', async () => {
      const run = await cli(['enroll', people, '--server', server, '--report', join(tmp, 'x.csv')], {
        SHELIA_API_KEY: 'wrong',
      });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /UNAUTHORIZED.*--key/);
      assert.ok(!existsSync(join(tmp, 'x.csv')), 'no report for a run that could not start');
    });
  },
);
