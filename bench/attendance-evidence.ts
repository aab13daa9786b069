/**
 * False presences before and after attendance decided on evidence (issue 8 §3), through the
 * whole system (bench/service.ts: `node dist/src/all-in-one.js`, real worker, SQLite, Redis).
 *
 *   npm run bench:attendance-evidence -- [--present 80] [--frames 30] [--json]
 *
 * 600 people are enrolled (photo 1 of the first 400 lfw-dev identities with 2+ photos and of
 * the first 200 single-photo ones, as test/e2e/gallery-scale.test.ts). One camera's morning:
 * `--frames` 1920x1080 frames 20 s apart (test/helpers/frames.ts: real LFW faces 60-130 px on
 * noise). `--present` enrolled people each appear in 1-3 frames 40 s apart, in another photo
 * than the enrolled one; 80 strangers (never enrolled) in 1-3 frames each, with the SAME photo
 * every time as a camera sees one person walk by (so their distances are correlated), and 60
 * single-photo strangers once. The same frames go to four cameras:
 *
 * - `old`: threshold 0.59, the fixed high-security default before open-set thresholds;
 * - `loose`: threshold 0.75, a caller's equal-error threshold;
 * - `default` and `shuffled`: no threshold (open-set, ATTENDANCE_TARGET_FPIR), in order and
 *   in a shuffled order.
 *
 * Per camera, from GET /api/v1/attendance: people recorded present (any match record) and
 * confirmed (a confirmed record), each split into real (the person is in some frame) and false
 * (in none: a stranger, or someone else, taken for them), and, for comparison, what a rule
 * counting every sighting towards the two would confirm. The capture times are in the past, so
 * every window has closed and no record is pending. Before = `old`, every record a presence;
 * after = `default`, confirmed records only. `order_independent`: `default` and `shuffled` give
 * every person the same records and statuses. Progress goes to stderr; with --json the last
 * stdout line is one JSON object.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { cameraFrame, shuffled, type FrameFace } from '../test/helpers/frames.js';
import { identities, photo } from '../test/helpers/faces.js';
import {
  jobResults,
  spawnService,
  stopOnSignal,
  stopService,
  submitBatch,
  waitForJobs,
  waitHealthy,
  type Spawned,
} from './service.js';
import { machine, positiveInt } from './stats.js';

const { values: args } = parseArgs({
  options: {
    present: { type: 'string', default: '80' },
    frames: { type: 'string', default: '30' },
    json: { type: 'boolean', default: false },
  },
});
const presentCount = positiveInt('present', args.present);
const frameCount = positiveInt('frames', args.frames);
const STEP_MS = 20_000;
const FIRST_CAPTURE = Date.parse('2025-01-06T08:00:00.000Z');
const SIZES = [60, 60, 90, 130];
const CAMERAS: { camera: string; threshold?: number; shuffle?: boolean }[] = [
  { camera: 'old', threshold: 0.59 },
  { camera: 'loose', threshold: 0.75 },
  { camera: 'default' },
  { camera: 'shuffled', shuffle: true },
];

const log = (line: string) => console.log(line);
const note = (line: string) => console.error(line);

const Row = z.object({
  user_id: z.string().nullable(),
  timestamp: z.string(),
  sightings: z.number(),
  strong_sightings: z.number(),
  status: z.enum(['confirmed', 'pending', 'unconfirmed']).nullable(),
});
const Page = z.object({ items: z.array(Row), next_cursor: z.string().nullable() });
type Row = z.infer<typeof Row>;

async function matchRecords(s: Spawned, camera: string): Promise<Row[]> {
  const all: Row[] = [];
  let cursor: string | null = null;
  do {
    const q = `camera_id=${camera}&kind=match&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await fetch(`${s.baseUrl}/api/v1/attendance?${q}`, { headers: { 'x-api-key': s.key } });
    if (res.status !== 200) throw new Error(`GET /api/v1/attendance: ${res.status} ${await res.text()}`);
    const page = Page.parse(await res.json());
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

/** Frame plans: who is where, at which size. */
function plan(present: string[], strangersMulti: string[], strangersSingle: string[]): FrameFace[][] {
  const frames: FrameFace[][] = Array.from({ length: frameCount }, () => []);
  present.forEach((name, i) => {
    for (let t = 0; t <= i % 3; t++)
      frames[(i * 7 + t * 2) % frameCount]?.push({ name, n: 2, faceHeight: SIZES[(i + t) % 4] ?? 60 });
  });
  strangersMulti.forEach((name, i) => {
    for (let t = 0; t <= i % 3; t++)
      frames[(i * 5 + t * 3 + 3) % frameCount]?.push({
        name,
        n: 1,
        faceHeight: SIZES[(i + t + 1) % 4] ?? 60,
      });
  });
  strangersSingle.forEach((name, i) =>
    frames[(i * 3 + 1) % frameCount]?.push({ name, n: 1, faceHeight: i % 2 ? 100 : 60 }),
  );
  return frames;
}

function people(records: Row[], present: Set<string>, statusOk: (r: Row) => boolean) {
  const users = new Set(records.filter(statusOk).map((r) => r.user_id ?? ''));
  const real = [...users].filter((u) => present.has(u));
  return { real: real.length, false: users.size - real.length };
}

let spawned: Spawned | undefined;
stopOnSignal(() => spawned);

try {
  const loadStart = os.loadavg();
  const multi = identities(2).map((i) => i.name);
  const singles = identities(1)
    .filter((i) => i.photos === 1)
    .map((i) => i.name);
  const gallery = [...multi.slice(0, 400), ...singles.slice(0, 200)];

  note('starting the service (node dist/src/all-in-one.js)');
  spawned = await spawnService({ tag: 'bench-attendance-evidence', env: { DUPLICATE_POLICY: 'warn' } });
  const service = spawned;
  await waitHealthy(service);

  note(`enrolling ${gallery.length} people (photo 1 each)`);
  const items = gallery.map((name) => ({ user_id: name, name, image: photo(name, 1).toString('base64') }));
  const enrollJob = await submitBatch(service, '/api/v1/enrollments', Buffer.from(JSON.stringify({ items })));
  await waitForJobs(service, [enrollJob.job_id]);
  const enrolled = new Set(
    (await jobResults(service, enrollJob.job_id)).filter((r) => r.ok && r.ref).map((r) => r.ref as string),
  );
  const present = multi
    .slice(0, 400)
    .filter((n) => enrolled.has(n))
    .slice(0, presentCount);
  const plans = plan(present, multi.slice(400, 480), singles.slice(200, 260));
  const inFrames = new Set(plans.flat().map((f) => f.name));

  note(`composing ${frameCount} frames (${plans.flat().length} faces)`);
  const frames = await Promise.all(
    plans.map(async (faces, j) => ({
      image: (await cameraFrame(faces, 500 + j)).jpeg.toString('base64'),
      captured_at: new Date(FIRST_CAPTURE + j * STEP_MS).toISOString(),
    })),
  );
  const jobs: string[] = [];
  for (const c of CAMERAS) {
    const body = {
      camera_id: c.camera,
      frames: c.shuffle ? shuffled(frames, 7) : frames,
      ...(c.threshold !== undefined ? { threshold: c.threshold } : {}),
    };
    jobs.push((await submitBatch(service, '/api/v1/attendance', Buffer.from(JSON.stringify(body)))).job_id);
  }
  note(`processing ${CAMERAS.length} x ${frameCount} frames`);
  await waitForJobs(service, jobs);
  const [first] = await jobResults(service, jobs[2] ?? '');
  const decision = (first?.decision ?? {}) as Record<string, unknown>;

  const rows = [];
  const byUser = new Map<string, string>();
  for (const c of CAMERAS) {
    const records = await matchRecords(service, c.camera);
    const status = (s: string) => records.filter((r) => r.status === s).length;
    rows.push({
      camera: c.camera,
      threshold: c.threshold ?? `open-set ${String(decision.threshold)}`,
      recorded: people(records, inFrames, () => true),
      confirmed: people(records, inFrames, (r) => r.status === 'confirmed'),
      // What a rule counting every sighting towards the two (not only confirming ones) confirms.
      any_two: people(records, inFrames, (r) => r.sightings >= 2 || r.strong_sightings >= 1),
      records: {
        confirmed: status('confirmed'),
        pending: status('pending'),
        unconfirmed: status('unconfirmed'),
      },
    });
    const key = records.map((r) => `${r.user_id}|${r.timestamp}|${r.sightings}|${r.status}`).sort();
    byUser.set(c.camera, JSON.stringify(key));
  }
  const orderIndependent = byUser.get('default') === byUser.get('shuffled');
  const realPresent = present.length;

  log(
    `\nShelia attendance evidence: ${enrolled.size} enrolled, ${frameCount} frames 1920x1080 ` +
      `${STEP_MS / 1000} s apart, ${realPresent} enrolled people present, 140 strangers; ` +
      `default decision ${JSON.stringify(decision)}`,
  );
  log(
    `${'camera'.padEnd(10)}${'threshold'.padEnd(18)}${'recorded real/false'.padEnd(22)}` +
      `${'confirmed real/false'.padEnd(22)}(any 2 sightings real/false)`,
  );
  for (const r of rows) {
    log(
      `${r.camera.padEnd(10)}${String(r.threshold).padEnd(18)}` +
        `${`${r.recorded.real} / ${r.recorded.false}`.padEnd(22)}` +
        `${`${r.confirmed.real} / ${r.confirmed.false}`.padEnd(22)}(${r.any_two.real} / ${r.any_two.false})`,
    );
  }
  const old = rows[0];
  const now = rows[2];
  log(
    `before (old threshold, every record a presence): ${old?.recorded.false} false presences, ` +
      `${old?.recorded.real} of ${realPresent} present people recorded`,
  );
  log(
    `after (open-set threshold, confirmed records): ${now?.confirmed.false} false presences, ` +
      `${now?.confirmed.real} of ${realPresent} confirmed; same statuses in a shuffled order: ${orderIndependent}`,
  );
  const report = {
    bench: 'attendance-evidence',
    enrolled: enrolled.size,
    frames: frameCount,
    present: realPresent,
    strangers: 140,
    default_decision: decision,
    cameras: rows,
    before: { false_presences: old?.recorded.false, real_present: old?.recorded.real },
    after: { false_presences: now?.confirmed.false, real_confirmed: now?.confirmed.real },
    order_independent: orderIndependent,
    machine: machine(loadStart, os.loadavg()),
  };
  if (args.json) log(JSON.stringify(report));
  if (!orderIndependent) process.exitCode = 1;
} finally {
  if (spawned) await stopService(spawned);
}
