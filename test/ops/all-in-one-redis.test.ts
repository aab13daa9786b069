/**
 * `npm start` and Redis: a REDIS_URL that does not answer is one clear line and exit 1, with no
 * redis-server started in its place (it used to start a daemonized one that outlived Shelia);
 * the redis-server it starts itself (REDIS_URL unset) dies with it on SIGTERM, SIGINT, exit and
 * an uncaught error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { modelsDir, repoRoot } from '../helpers/faces.js';
import { waitFor } from '../helpers/service.js';

/** A port nothing listens on (taken, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** redis-server processes serving `port` (Redis sets its title to `redis-server 127.0.0.1:<port>`). */
function redisServersOn(port: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes('redis-server') && (cmd.includes(`:${port}`) || cmd.includes(`--port ${port} `)))
        pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('all-in-one and Redis', () => {
  it('a REDIS_URL that does not answer: one line, exit 1, and no redis-server started', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(repoRoot, 'dist/src/all-in-one.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: `redis://user:hunter2@127.0.0.1:${port}`,
        MODELS_DIR: modelsDir,
        PORT: '0',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 1, stderr);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^shelia: Redis at redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(REDIS_URL\\) does not answer: .*unset REDIS_URL`,
      ),
    );
    assert.deepEqual(redisServersOn(port), [], 'no redis-server was started for it');
  });

  for (const end of ['SIGTERM', 'SIGINT', 'exit', 'throw'] as const) {
    it(`the redis-server it starts itself is gone after ${end}`, async () => {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [
          join(repoRoot, 'dist/test/helpers/local-redis-harness.js'),
          String(port),
          end.startsWith('SIG') ? 'wait' : end,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.resume();
      const exited = new Promise((r) => child.once('exit', r));
      await waitFor(() => /ready \d+/.test(out), 'the local redis-server', 15_000);
      const pid = Number(/ready (\d+)/.exec(out)?.[1]);
      assert.ok(pid > 0 && alive(pid), 'it started a redis-server');
      assert.deepEqual(redisServersOn(port), [pid]);
      if (end === 'SIGTERM' || end === 'SIGINT') child.kill(end);
      await exited;
      await waitFor(() => !alive(pid), `redis-server ${pid} to end`, 5000);
      assert.deepEqual(redisServersOn(port), [], `no redis-server left on ${port}`);
    });
  }
});
