#!/usr/bin/env node
// `npm test`: makes sure Redis answers (starting a local redis-server if one is installed),
// then runs the compiled tests with Node's own runner. Extra args are passed to `node --test`.
import { spawnSync } from 'node:child_process';
import { ensureRedis } from '../dist/src/shared/redis-bootstrap.js';

await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const files = process.argv.slice(2);
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-reporter=spec', ...(files.length ? files : ['dist/test/'])],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
