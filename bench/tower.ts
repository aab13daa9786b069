/**
 * Many worker processes under fire ("tower defence"): one API and N workers as separate
 * processes on one Redis prefix and one store, waves of enrollment and attendance batches, a
 * random worker `kill -9`ed every ~K seconds and restarted; then the queues must drain with no
 * item lost, no template twice and no attendance record twice.
 *
 *   npm run bench:tower -- [--store sqlite|mongo] [--workers 3] [--seconds 60] [--kill-every 10]
 *                           [--wave-every 2] [--enroll-per-wave 10] [--frames-per-wave 4]
 *                           [--faces DIR] [--json]
 *
 * `--store mongo` uses MONGODB_URL when set (a database of the run's own on that server, dropped
 * afterwards), else a FerretDB started for the run (scripts/ferretdb.mjs). Loopback only; the
 * run removes its processes, temp dirs and Redis keys (its own prefix, never FLUSH). With --json
 * the last stdout line is one JSON object with every figure.
 */
import { pathToFileURL, fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runTower, type TowerReport } from './tower-harness.js';
import { positiveInt } from './stats.js';

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    workers: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '60' },
    'kill-every': { type: 'string', default: '10' },
    'wave-every': { type: 'string', default: '2' },
    'enroll-per-wave': { type: 'string', default: '10' },
    'frames-per-wave': { type: 'string', default: '4' },
    faces: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
if (args.store !== 'sqlite' && args.store !== 'mongo') throw new Error('--store must be sqlite or mongo');
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const facesDir = path.resolve(args.faces ?? path.resolve(repoRoot, '..', 'shared', 'faces', 'lfw-dev'));
const log = (line: string) => console.log(line);
// Progress and the services' own output go to stderr: stdout holds the figures and the JSON line.
const note = (line: string) => console.error(line);

interface FerretModule {
  ensureFerretdb(log: (l: string) => void): { binary?: string; skipped?: string };
  startFerretdb(binary: string): Promise<{ url: string; stop(): Promise<void> }>;
}

/** The Mongo URL for this run, and how to stop what was started for it. */
async function mongoTarget(): Promise<{ url: string; stop: () => Promise<void> }> {
  const name = `tower_${process.pid}_${Date.now()}`;
  const external = process.env.MONGODB_URL;
  if (external) {
    const url = new URL(external);
    url.pathname = `/${name}`;
    return { url: url.toString(), stop: () => Promise.resolve() };
  }
  // A plain .mjs next to the repo's scripts: imported by URL, its shape checked here.
  const mod = (await import(
    pathToFileURL(path.join(repoRoot, 'scripts', 'ferretdb.mjs')).href
  )) as FerretModule;
  const built = mod.ensureFerretdb(note);
  if (!built.binary) throw new Error(`no MongoDB-protocol server: ${built.skipped ?? 'unknown reason'}`);
  const ferret = await mod.startFerretdb(built.binary);
  const url = new URL(ferret.url);
  url.pathname = `/${name}`;
  return { url: url.toString(), stop: () => ferret.stop() };
}

const mongo = args.store === 'mongo' ? await mongoTarget() : undefined;
let stopCluster: (() => Promise<void>) | undefined;
// Ctrl-C must not leave processes, keys, temp dirs or a FerretDB behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    const exit = () => process.exit(130);
    void (async () => {
      await stopCluster?.();
      await mongo?.stop();
    })().then(exit, exit);
  });
}
let report: TowerReport;
try {
  report = await runTower({
    workers: positiveInt('workers', args.workers),
    seconds: positiveInt('seconds', args.seconds),
    killEverySeconds: positiveInt('kill-every', args['kill-every']),
    waveEverySeconds: positiveInt('wave-every', args['wave-every']),
    enrollPerWave: positiveInt('enroll-per-wave', args['enroll-per-wave']),
    framesPerWave: positiveInt('frames-per-wave', args['frames-per-wave']),
    facesPerFrame: 3,
    ...(mongo ? { mongodbUrl: mongo.url } : {}),
    facesDir,
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    // Long enough for a backlog left by the last kills, short enough that a stuck run ends.
    drainTimeoutSeconds: 180,
    poolSize: 1,
    seed: 9,
    tag: 'bench-tower',
    log: note,
    onOutput: (name, line) => note(`[${name}] ${line}`),
    onStarted: (stop) => (stopCluster = stop),
  });
} finally {
  await mongo?.stop();
}

const r = report;
log(
  `\nShelia tower: ${r.store}, 1 API + ${r.workers} worker processes, ${r.seconds} s of waves, ` +
    `${r.kills} kill -9 (restarted)`,
);
const row = (name: string, value: string | number) => log(`${name.padEnd(34)}${String(value).padStart(10)}`);
row('worker crashes (not killed)', r.worker_crashes);
row('batches accepted (refused)', `${r.batches} (${r.rejected_submissions})`);
row('items accepted', r.items);
row('items with a result', r.items_with_result);
row('lost (accepted, no result)', r.lost);
row('failed by faults (INTERNAL_ERROR..)', r.failed_by_faults);
row('people enrolled / templates', `${r.people_enrolled} / ${r.templates}`);
row('duplicate templates', r.duplicate_templates);
row('missing templates', r.missing_templates);
row('users no result accounts for', r.unexpected_users);
row('frames / faces matched', `${r.frames} / ${r.faces_matched}`);
row('matched to someone not shown', r.matched_wrong_person);
row('attendance records (sightings)', `${r.attendance_records} (${r.sightings_recorded})`);
row('duplicate attendance records', r.duplicate_records);
row('drain (s)', r.drained ? r.drain_s : `> ${r.drain_s} NOT DRAINED`);
log(`outcomes: ${JSON.stringify(r.outcomes)}`);
if (r.fault_examples.length > 0) log(`faults: ${r.fault_examples.join('; ')}`);
if (r.duplicate_records > 0) log(`duplicate records: ${r.duplicate_record_examples.join('; ')}`);
if (r.sightings_mismatch.length > 0) log(`sightings that disagree: ${r.sightings_mismatch.join('; ')}`);
if (!r.drained) log(`still pending: ${JSON.stringify(r.pending)}; ${r.unfinished} batches not final`);
if (args.json) log(JSON.stringify(report));
const clean =
  r.drained && r.lost === 0 && r.duplicate_templates === 0 && r.duplicate_records === 0 && r.items > 0;
process.exitCode = clean ? 0 : 1;
