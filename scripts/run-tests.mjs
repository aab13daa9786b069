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
import { ensureRedis } from '../dist/src/shared/redis-bootstrap.js';
import { ensureFerretdb, FERRETDB_VERSION, startFerretdb } from './ferretdb.mjs';

await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const files = process.argv.slice(2);
const { MONGODB_URL: externalMongo, ...baseEnv } = process.env;

function runNodeTests(targets, env) {
  const r = spawnSync(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-reporter=spec', ...targets],
    { stdio: 'inherit', env },
  );
  return r.status ?? 1;
}

let status = 0;
if (!process.env.SHELIA_ONLY_MONGO) {
  // The first run never sees MONGODB_URL: it is the embedded default's run.
  status = runNodeTests(files.length ? files : ['dist/test/'], baseEnv);
}

/** The suites that touch storage: the store contract and every end-to-end flow. */
const mongoTargets = () => [
  'dist/test/shared/store/mongo-store.test.js',
  ...readdirSync('dist/test/e2e')
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => join('dist/test/e2e', f)),
];

let mongoSummary;
if (process.env.SHELIA_SKIP_MONGO || files.length) {
  mongoSummary = 'MongoDB run skipped (SHELIA_SKIP_MONGO or explicit test files)';
} else if (externalMongo) {
  const s = runNodeTests(mongoTargets(), { ...baseEnv, MONGODB_URL: externalMongo });
  status ||= s;
  mongoSummary = `MongoDB run against MONGODB_URL: ${s === 0 ? 'passed' : 'FAILED'}`;
} else {
  const built = ensureFerretdb();
  if (built.skipped) {
    mongoSummary = `MongoDB run SKIPPED: ${built.skipped}`;
  } else {
    const ferret = await startFerretdb(built.binary);
    try {
      const s = runNodeTests(mongoTargets(), { ...baseEnv, MONGODB_URL: ferret.url });
      status ||= s;
      mongoSummary = `MongoDB-protocol run (FerretDB ${FERRETDB_VERSION}, SQLite backend): ${s === 0 ? 'passed' : 'FAILED'}`;
    } finally {
      await ferret.stop();
    }
  }
}
console.log(`\n${mongoSummary}`);
process.exit(status);
