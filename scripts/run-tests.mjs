#!/usr/bin/env node
// `npm test`: makes sure Redis answers (starting a local redis-server if one is installed), runs
// the compiled tests with Node's own runner on the embedded default (SQLite), then runs the store
// conformance suite and the end-to-end suites again on MongoDB-protocol storage: MONGODB_URL when
// set, else a FerretDB built and started here (scripts/ferretdb.mjs). Without either, that second
// run is skipped and the summary says why. Extra args = the test files to run (first run only).
//   SHELIA_SKIP_MONGO=1  skip the MongoDB run        SHELIA_ONLY_MONGO=1  only the MongoDB run
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureRedis } from '../dist/src/launcher/redis-bootstrap.js';
import { ensureFerretdb, FERRETDB_VERSION, startFerretdb } from './ferretdb.mjs';

await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const files = process.argv.slice(2);
const { MONGODB_URL: externalMongo, ...baseEnv } = process.env;

/**
 * The compiled test files (`*.test.js`) under `dir`. Not the directory itself: given one, Node's
 * runner runs every .js under a `test/` folder, helpers and harnesses too (a harness that starts
 * a redis-server failed the run as a "test").
 */
function testFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .filter((f) => String(f).endsWith('.test.js'))
    .map((f) => join(dir, String(f)))
    .sort();
}

function runNodeTests(targets, env, extra = []) {
  const r = spawnSync(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-reporter=spec', ...extra, ...targets],
    { stdio: 'inherit', env },
  );
  return r.status ?? 1;
}

/**
 * On MongoDB-protocol storage a hang must fail, not stall CI. The slowest tests (the attendance
 * suite, a 300-item kill -9 batch) take 100-220 s on FerretDB on a quiet machine and up to 413 s
 * at load average 15-20 on 2 cores; 240 s cancelled them there. 10 minutes still ends a hang.
 */
const MONGO_TEST_TIMEOUT = ['--test-timeout=600000'];

let status = 0;
if (!process.env.SHELIA_ONLY_MONGO) {
  // The first run never sees MONGODB_URL: it is the embedded default's run.
  status = runNodeTests(files.length ? files : testFiles('dist/test'), baseEnv);
}

/**
 * The suites that touch storage, in two runs: the store contract, then every end-to-end flow
 * except the gallery-scale one (it measures 1:N decisions, not storage, and its 600 enrollments
 * take minutes on FerretDB's SQLite backend) and the Redis Cluster one (Redis, not storage). Each
 * run gets a fresh FerretDB: one that had served all the end-to-end suites once wedged on a
 * GridFS upload.
 */
const NOT_ON_MONGO = new Set(['gallery-scale.test.js', 'redis-cluster.test.js']);
const mongoRuns = () => [
  ['dist/test/shared/store/mongo-store.test.js'],
  readdirSync('dist/test/e2e')
    .filter((f) => f.endsWith('.test.js') && !NOT_ON_MONGO.has(f))
    .map((f) => join('dist/test/e2e', f)),
];

let mongoSummary;
if (process.env.SHELIA_SKIP_MONGO || files.length) {
  mongoSummary = 'MongoDB run skipped (SHELIA_SKIP_MONGO or explicit test files)';
} else if (externalMongo) {
  let s = 0;
  for (const targets of mongoRuns()) {
    const r = runNodeTests(targets, { ...baseEnv, MONGODB_URL: externalMongo }, MONGO_TEST_TIMEOUT);
    s ||= r;
  }
  status ||= s;
  mongoSummary = `MongoDB run against MONGODB_URL: ${s === 0 ? 'passed' : 'FAILED'}`;
} else {
  const built = ensureFerretdb();
  if (built.skipped) {
    mongoSummary = `MongoDB run SKIPPED: ${built.skipped}`;
  } else {
    let s = 0;
    for (const targets of mongoRuns()) {
      const ferret = await startFerretdb(built.binary);
      try {
        const r = runNodeTests(targets, { ...baseEnv, MONGODB_URL: ferret.url }, MONGO_TEST_TIMEOUT);
        s ||= r;
      } finally {
        await ferret.stop();
      }
    }
    status ||= s;
    mongoSummary = `MongoDB-protocol run (FerretDB ${FERRETDB_VERSION}, SQLite backend): ${s === 0 ? 'passed' : 'FAILED'}`;
  }
}
console.log(`\n${mongoSummary}`);
process.exit(status);
