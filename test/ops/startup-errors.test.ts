/**
 * Start-up problems an operator fixes are one line on stderr, exit 1, no stack trace: the real
 * entry points (dist/src/api/main.js, worker/main.js, all-in-one.js) spawned with a bad setting.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot, modelsDir } from '../helpers/faces.js';
import { freshPrefix, REDIS_URL } from '../helpers/service.js';

const ENTRY = {
  api: join(repoRoot, 'dist/src/api/main.js'),
  worker: join(repoRoot, 'dist/src/worker/main.js'),
  allInOne: join(repoRoot, 'dist/src/all-in-one.js'),
};

interface Exit {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Runs an entry point to its exit (killed after 60 s: a start-up that hangs fails the test). */
function run(entry: string, env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry], {
      env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

/** Exactly one non-empty line, matching `pattern`, and nothing that looks like a stack frame. */
function assertOneLine(exit: Exit, pattern: RegExp): void {
  assert.equal(exit.code, 1, `exit code; stderr: ${exit.stderr}`);
  const lines = exit.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${exit.stderr}`);
  assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(exit.stderr + exit.stdout, /\n\s+at /, 'no stack trace');
}

describe('start-up errors: one clear line, exit 1', () => {
  let dataDir: string;
  let busy: Server;
  let busyPort: number;
  const base = () => ({
    REDIS_URL,
    KEY_PREFIX: freshPrefix('startup'),
    DATA_DIR: dataDir,
    MODELS_DIR: modelsDir,
    POOL_SIZE: '1',
    WORKER_METRICS_PORT: '0',
  });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'shelia-startup-'));
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise<void>((r) => busy.close(() => r()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const [name, entry] of Object.entries(ENTRY)) {
    it(`${name}: a bad setting names the variable and the fix`, async () => {
      const exit = await run(entry, { ...base(), PORT: '99999', LOG_LEVEL: 'loud' });
      assertOneLine(
        exit,
        /invalid configuration: PORT: .*; LOG_LEVEL: .*\(see the settings table in README\.md\)$/,
      );
    });
  }

  it('api: a busy PORT says so and what to do', async () => {
    const exit = await run(ENTRY.api, { ...base(), PORT: String(busyPort) });
    assertOneLine(
      exit,
      new RegExp(`^shelia-api: api: 127\\.0\\.0\\.1:${busyPort} is already in use: .*set PORT`),
    );
  });

  it('worker: a busy WORKER_METRICS_PORT says so and what to do', async () => {
    const exit = await run(ENTRY.worker, { ...base(), WORKER_METRICS_PORT: String(busyPort) });
    assertOneLine(exit, /already in use: .*set WORKER_METRICS_PORT/);
  });

  for (const [name, entry] of Object.entries(ENTRY)) {
    it(`${name}: a missing models folder names it and the fix`, async () => {
      const missing = join(dataDir, 'no-models-here');
      const exit = await run(entry, { ...base(), PORT: '0', MODELS_DIR: missing });
      assertOneLine(
        exit,
        new RegExp(`the models folder ${missing} has no manifest\\.json: run \`npm run models\``),
      );
    });
  }

  it('api: HOST beyond loopback without an API key is refused in one line', async () => {
    const exit = await run(ENTRY.api, { ...base(), PORT: '0', HOST: '0.0.0.0' });
    assertOneLine(exit, /refusing to listen on 0\.0\.0\.0 without an API key/);
  });
});
