/**
 * `npm run reembed -- --batch <job_id> [--wait]`: after changing model pack, recompute an
 * enrollment batch's templates with the active pack from the photos it kept (KEEP_PHOTOS=true).
 * Reads the same environment as the worker (REDIS_URL, KEY_PREFIX); a worker must be running.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.js';
import { startOrExit } from '../shared/startup.js';
import { queueReembed } from './reembed.js';

const { values } = parseArgs({
  options: { batch: { type: 'string' }, wait: { type: 'boolean', default: false } },
});
if (!values.batch) {
  process.stderr.write('usage: npm run reembed -- --batch <enrollment job_id> [--wait]\n');
  process.exit(2);
}
const config = await startOrExit('shelia-reembed', () => loadConfig());
const out = await queueReembed(config, values.batch, values.wait ? 24 * 3600_000 : undefined);
process.stdout.write(`${JSON.stringify(out)}\n`);
