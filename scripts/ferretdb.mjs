// A MongoDB-protocol server for the tests: FerretDB v1.24.2 (Apache-2.0) with its SQLite backend,
// built once from the Go module proxy into the user's cache, started on a free loopback port with
// telemetry disabled and its data in a temporary folder, stopped afterwards. MongoDB itself cannot
// be installed on these machines; FerretDB speaks its wire protocol.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const FERRETDB_VERSION = 'v1.24.2';
const MODULE = 'github.com/FerretDB/FerretDB';

function findGo() {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    const r = spawnSync(candidate, ['version'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

const cacheDir = () =>
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'shelia', `ferretdb-${FERRETDB_VERSION}`);

/**
 * The FerretDB binary, built on first use. `go install ...@v1.24.2` builds a binary that panics
 * at start ("Invalid build/version/version.txt"): the module ships that file empty. So the
 * module's source is copied, the version written in, and built with `go build`.
 * Returns { binary } or { skipped: reason }.
 */
export function ensureFerretdb(log = console.log) {
  const binary = join(cacheDir(), 'ferretdb');
  if (existsSync(binary)) return { binary };
  const go = findGo();
  if (!go) return { skipped: 'no Go toolchain (needed once to build FerretDB; or set MONGODB_URL)' };
  log(`ferretdb: building ${MODULE}@${FERRETDB_VERSION} (once; cached in ${cacheDir()})`);
  const dl = spawnSync(go, ['mod', 'download', '-json', `${MODULE}@${FERRETDB_VERSION}`], {
    encoding: 'utf8',
    cwd: tmpdir(),
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  if (dl.status !== 0)
    return { skipped: `go mod download failed: ${(dl.stderr || dl.stdout).trim().slice(-300)}` };
  const src = JSON.parse(dl.stdout).Dir;
  const work = mkdtempSync(join(tmpdir(), 'ferretdb-src-'));
  try {
    cpSync(src, work, { recursive: true });
    spawnSync('chmod', ['-R', 'u+w', work]);
    writeFileSync(join(work, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    mkdirSync(dirname(binary), { recursive: true });
    const built = spawnSync(go, ['build', '-o', binary, './cmd/ferretdb'], { cwd: work, encoding: 'utf8' });
    if (built.status !== 0) return { skipped: `go build failed: ${built.stderr.trim().slice(-300)}` };
    chmodSync(binary, 0o755);
    return { binary };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts FerretDB; resolves to { url, stop } once it answers a ping (30 s at most). */
export async function startFerretdb(binary) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'shelia-ferretdb-'));
  mkdirSync(join(dir, 'data'));
  const logFile = join(dir, 'ferretdb.log');
  const log = openSync(logFile, 'a');
  const child = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${join(dir, 'data')}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
    // Its log goes to a file, not a pipe to us: run-tests.mjs blocks in spawnSync while the tests
    // run, so nothing would read a pipe, and once FerretDB had written a pipe's worth (a
    // worker kill -9 makes it log every dropped connection) it blocked, and every test with it.
    { stdio: ['ignore', 'ignore', log] },
  );
  closeSync(log);
  const stderr = () => readFileSync(logFile, 'utf8').slice(-2000);
  const url = `mongodb://127.0.0.1:${port}/shelia`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const { MongoClient } = await import('mongodb');
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ferretdb exited (${child.exitCode}): ${stderr()}`);
    try {
      const client = await new MongoClient(url, { serverSelectionTimeoutMS: 500 }).connect();
      await client.db('admin').command({ ping: 1 });
      await client.close();
      return { url, stop };
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`ferretdb did not answer in 30 s: ${String(err)} ${stderr()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
