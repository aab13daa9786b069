/**
 * Open-set 1:N identification in the NIST FRTE style, through the production API path.
 *
 *   npm run bench:openset -- --lfw DIR [--gallery-distractors N] [--top-k 50] [--seed 1]
 *                            [--svg FILE] [--json]
 *
 * The real service (bench/service.ts: `node dist/src/all-in-one.js`, real Redis under a fresh
 * KEY_PREFIX, real worker, SQLite in a temp DATA_DIR, DUPLICATE_POLICY=warn so the duplicate gate
 * does not drop gallery members) gets the gallery through POST /api/v1/enrollments batches; every
 * item's outcome is recorded. Split (bench/openset-split.ts, seeded, default seed 1): of the
 * identities with 2+ photos a seeded ~2/3 are mated (first photo sorted enrolled, one other photo
 * drawn at random is the probe), the other 1/3 give one non-mated probe each; of the single-photo
 * identities a seeded half are enrolled as distractors, the other half are non-mated probes.
 * Non-mated identities are never enrolled. A mated identity whose gallery photo fails enrollment
 * is not in the gallery, so its probe is counted as non-mated (a real search by a stranger).
 *
 * Every probe is sent twice to POST /api/v1/identify: with top_k 50 and threshold 2 (every
 * candidate, so decision rules can be evaluated offline), and as a client would, with no
 * threshold (the service's default decision: its is_match and the threshold it reports). The
 * probe's face is faces[0], the largest, as enrollment and /embed choose it. Published thresholds
 * come from GET /api/v1/models.
 *
 * Figures (openset-metrics.ts): rank-1/5; FNIR at FPIR 10 / 1 / 0.1 % for the top-1 distance and
 * the alternative scores (margin, d1 - alpha * margin, cohort z and d1 - cohort mean); FPIR/FNIR at
 * each published threshold and at the default; the same against random sub-galleries (20 seeded
 * draws each). Thresholds for FPIR targets and the choice of the best score are made on the same
 * probes they are measured on, so they are optimistic by a little; the 0.1 % point needs >= 1,000
 * non-mated probes and is flagged when there are fewer.
 *
 * `--gallery-distractors N` adds N synthetic templates (openset-synthetic.ts) offline: the API
 * enrolls photos only, so probe embeddings come from POST /api/v1/embed and are merged with the
 * API's candidate list. Those figures are printed apart from the real-photo ones.
 *
 * The DET plot goes to --svg (default ./bench-openset-det.svg). Progress goes to stderr; with
 * --json the last stdout line is one JSON object. Photos are read in place, never copied.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderDetSvg } from './det-svg.js';
import { collectSearches, embedPhotos, enrollGallery, modelThresholds } from './openset-client.js';
import { rankRate, ratesAt, scoreSearches, sizeCurve, top1 } from './openset-metrics.js';
import {
  bestAt1pct,
  pct,
  printRates,
  printScoreTable,
  printSizeCurve,
  publishedRates,
  rowJson,
  scoreRows,
} from './openset-report.js';
import { readIdentities, splitOpenSet } from './openset-split.js';
import { syntheticSection } from './openset-augmented.js';
import { spawnService, stopOnSignal, stopService, waitHealthy, type Spawned } from './service.js';
import { machine, positiveInt, r2 } from './stats.js';

const { values: args } = parseArgs({
  options: {
    lfw: { type: 'string' },
    'gallery-distractors': { type: 'string', default: '0' },
    'top-k': { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    chunk: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
    svg: { type: 'string', default: 'bench-openset-det.svg' },
    json: { type: 'boolean', default: false },
  },
});
if (!args.lfw) {
  console.error(
    'usage: bench:openset -- --lfw DIR [--gallery-distractors N] [--top-k 50] [--svg FILE] [--json]',
  );
  process.exit(2);
}
const lfwDir = path.resolve(args.lfw);
const synthetic = Number(args['gallery-distractors']);
if (!Number.isInteger(synthetic) || synthetic < 0) throw new Error('--gallery-distractors must be >= 0');
const topK = positiveInt('top-k', args['top-k']);
const seed = positiveInt('seed', args.seed);
const chunk = positiveInt('chunk', args.chunk);
const concurrency = positiveInt('concurrency', args.concurrency);
/** Sub-gallery draws per size: enough that the size curve's FPIR is not one lucky subset. */
const SIZE_REPEATS = 20;

const log = (line: string) => console.log(line);
const note = (line: string) => console.error(line);

let spawned: Spawned | undefined;
stopOnSignal(() => spawned);

try {
  const loadStart = os.loadavg();
  const split = splitOpenSet(await readIdentities(lfwDir), seed);
  const kinds = new Map<string, number>();
  for (const p of split.probes) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
  const distractors = split.gallery.filter((g) => g.role === 'distractor');
  const bytes = new Map<string, Buffer>();
  for (const f of [...split.gallery.map((g) => g.photo), ...split.probes.map((p) => p.photo)])
    bytes.set(f, await readFile(f));

  note('starting the service (node dist/src/all-in-one.js)');
  spawned = await spawnService({ tag: 'bench-openset', env: { DUPLICATE_POLICY: 'warn' } });
  const service = spawned;
  await waitHealthy(service);
  const published = await modelThresholds(service);

  note(`enrolling ${split.gallery.length} gallery photos in batches of ${chunk}`);
  const enrollment = await enrollGallery(service, split.gallery, bytes, chunk);
  note(
    `probing ${split.probes.length} photos (x2 identify${synthetic ? ', + /embed' : ''}), ${concurrency} at a time`,
  );
  const probed = await collectSearches(service, split, bytes, enrollment.enrolled, { topK, concurrency });
  // Only for the synthetic part: probe embeddings, and the enrolled distractors' as sources.
  const sourcePhotos = distractors.filter((d) => enrollment.enrolled.has(d.userId));
  const probeEmbeddings = synthetic
    ? await embedPhotos(
        service,
        split.probes.map((p) => p.photo),
        bytes,
        concurrency,
      )
    : [];
  const sourceEmbeddings = synthetic
    ? await embedPhotos(
        service,
        sourcePhotos.map((d) => d.photo),
        bytes,
        concurrency,
      )
    : [];
  const { searches } = probed;
  const galleryIds = [...enrollment.enrolled];
  const nonMated = searches.filter((s) => s.mate === null).length;
  const mated = searches.length - nonMated;

  // --- real photos ---
  log(`\nShelia open-set 1:N bench (FRTE style) on ${lfwDir}, seed ${seed}, through the API`);
  log(
    `split: gallery ${split.gallery.length} photos (${split.gallery.length - distractors.length} mated identities + ` +
      `${distractors.length} single-photo distractors); probes ${split.probes.length}: ` +
      [...kinds].map(([k, n]) => `${n} ${k}`).join(', '),
  );
  log(
    `enrollment: ${enrollment.enrolled.size}/${split.gallery.length} enrolled in ${r2(enrollment.seconds)} s; ` +
      `failed ${enrollment.failed.length}: ${Object.entries(enrollment.failReasons)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}; duplicate warnings ${enrollment.duplicateWarnings}`,
  );
  log(
    `searches: ${mated} mated, ${nonMated} non-mated (incl. ${probed.reclassified} mated probes whose gallery ` +
      `photo failed enrollment); no face in ${probed.noFace.mated} mated / ${probed.noFace.nonMated} non-mated ` +
      `probes; gallery_size reported ${probed.gallerySize}; ${r2(probed.seconds)} s`,
  );
  log(`rank-1 ${pct(rankRate(searches, 1))}   rank-5 ${pct(rankRate(searches, 5))}   (of ${mated} mated)`);
  log(`\nFNIR at fixed FPIR, real photos, gallery ${galleryIds.length}:`);
  const rows = scoreRows(searches);
  printScoreTable(log, rows, nonMated);
  log(
    `  resolution: one mated probe is ${pct(1 / mated)} of FNIR, one non-mated ${pct(1 / nonMated)} of FPIR; ` +
      `thresholds (and the best score) are chosen on the very probes they are measured on`,
  );

  log(`\nat the published thresholds (GET /api/v1/models, top-1 distance):`);
  const atPublished = publishedRates(searches, published.levels);
  const defaultRates = probed.defaultDecision;
  printRates(log, [...atPublished, { level: `service default (identify)`, ...defaultRates }]);
  const offlineDefault = ratesAt(scoreSearches(searches, top1), defaultRates.threshold);
  log(
    `  the default answers (is_match, threshold ${defaultRates.threshold} reported by /identify) disagree with ` +
      `"top-1 distance <= ${defaultRates.threshold}" on the permissive lists in ${probed.defaultDisagreements} probes ` +
      `(offline FPIR ${pct(offlineDefault.fpir)}, FNIR ${pct(offlineDefault.fnir)})`,
  );

  log(
    `\ngallery size (random sub-galleries of the enrolled set, ${SIZE_REPEATS} draws each; top-1 distance):`,
  );
  const sizes = [...new Set([100, 300, galleryIds.length].filter((n) => n <= galleryIds.length))];
  const thresholdValues = published.levels.map(([, t]) => t);
  const levelNames = published.levels.map(([l, t]) => `${l} ${t}`);
  const curve = sizeCurve(searches, galleryIds, sizes, thresholdValues, SIZE_REPEATS, seed);
  printSizeCurve(log, curve, thresholdValues);

  const augmented =
    synthetic > 0
      ? syntheticSection(
          log,
          {
            searches,
            probeEmbeddings,
            sources: sourcePhotos.flatMap((d, i) => {
              const embedding = sourceEmbeddings[i];
              return embedding ? [{ id: d.userId, embedding }] : [];
            }),
          },
          { count: synthetic, topK, seed, levels: published.levels, realGallery: galleryIds.length },
        )
      : undefined;

  const svgPath = path.resolve(args.svg);
  await writeFile(
    svgPath,
    renderDetSvg({
      title: 'Shelia open-set 1:N DET, lfw-dev through the API',
      subtitle: `${mated} mated / ${nonMated} non-mated searches, gallery ${galleryIds.length} (real photos); thresholds fitted on the same probes`,
      curves: rows.map((r) => ({ name: r.name, points: r.det })),
      markers: [
        ...atPublished.map((r) => ({ label: `${r.level} ${r.threshold}`, fpir: r.fpir, fnir: r.fnir })),
        { label: `default ${defaultRates.threshold}`, fpir: defaultRates.fpir, fnir: defaultRates.fnir },
      ],
      fpirFloor: 1 / nonMated,
      fnirFloor: 1 / mated,
    }),
  );
  log(`\nDET plot: ${svgPath}`);
  const loadEnd = os.loadavg();
  log(`load average: ${loadStart.map(r2).join(' ')} -> ${loadEnd.map(r2).join(' ')}`);

  if (args.json) {
    const rates = (r: { threshold: number; fpir: number; fnir: number }) => ({
      threshold: r.threshold,
      fpir: r.fpir,
      fnir: r.fnir,
    });
    log(
      JSON.stringify({
        lfw: lfwDir,
        seed,
        top_k: topK,
        split: {
          gallery: split.gallery.length,
          distractors: distractors.length,
          probes: Object.fromEntries(kinds),
        },
        enrollment: {
          enrolled: enrollment.enrolled.size,
          failed: enrollment.failed.length,
          fail_reasons: enrollment.failReasons,
          duplicate_warnings: enrollment.duplicateWarnings,
          seconds: r2(enrollment.seconds),
        },
        searches: { mated, non_mated: nonMated, reclassified: probed.reclassified, no_face: probed.noFace },
        rank1: rankRate(searches, 1),
        rank5: rankRate(searches, 5),
        scores: rows.map(rowJson),
        best_at_fpir_1pct: bestAt1pct(rows).map((r) => r.name),
        published: Object.fromEntries(atPublished.map((r) => [r.level, rates(r)])),
        service_default: { ...rates(defaultRates), disagreements: probed.defaultDisagreements },
        size_curve: curve.map((p) => ({
          ...p,
          levels: levelNames,
        })),
        ...(augmented ? { synthetic: augmented } : {}),
        svg: svgPath,
        ...machine(loadStart, loadEnd),
      }),
    );
  }
} finally {
  if (spawned) await stopService(spawned);
}
