/**
 * The API side of bench/openset.ts: published thresholds, gallery enrollment through batches,
 * and the probes' searches (permissive and default) and embeddings.
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Rates, Search } from './openset-metrics.js';
import type { GalleryPhoto, OpenSetSplit } from './openset-split.js';
import { jobResults, measureBatches, type Spawned } from './service.js';

async function call(s: Spawned, method: 'GET' | 'POST', urlPath: string, body?: unknown) {
  // Identify and embed are sync jobs; a transient 503 (a worker busy re-registering) is retried.
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${s.baseUrl}${urlPath}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-api-key': s.key },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json: unknown = await res.json();
    if (res.status === 503 && attempt < 3) {
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    return { status: res.status, json };
  }
}

const ModelsAnswer = z.object({
  thresholds: z.object({ cosine: z.record(z.string(), z.number()) }),
});

/** The cosine thresholds GET /api/v1/models publishes, strictest first. */
export async function modelThresholds(s: Spawned): Promise<{ levels: [string, number][] }> {
  const { status, json } = await call(s, 'GET', '/api/v1/models');
  if (status !== 200) throw new Error(`GET /api/v1/models: ${status} ${JSON.stringify(json)}`);
  const levels = Object.entries(ModelsAnswer.parse(json).thresholds.cosine).sort(([, a], [, b]) => a - b);
  return { levels };
}

export interface Enrollment {
  enrolled: Set<string>;
  failed: { userId: string; reason: string }[];
  /** Failure outcome (with the gate when there is one) -> count. */
  failReasons: Record<string, number>;
  duplicateWarnings: number;
  seconds: number;
}

/** The gallery through POST /api/v1/enrollments, `chunk` people per batch, polled until final. */
export async function enrollGallery(
  s: Spawned,
  gallery: GalleryPhoto[],
  bytes: Map<string, Buffer>,
  chunk: number,
): Promise<Enrollment> {
  const bodies: Buffer[] = [];
  for (let i = 0; i < gallery.length; i += chunk) {
    const items = gallery.slice(i, i + chunk).map((g) => ({
      user_id: g.userId,
      name: g.name,
      image: (bytes.get(g.photo) as Buffer).toString('base64'),
    }));
    bodies.push(Buffer.from(JSON.stringify({ items })));
  }
  const measured = await measureBatches(s, '/api/v1/enrollments', bodies);
  const enrolled = new Set<string>();
  const failed: Enrollment['failed'] = [];
  const failReasons: Record<string, number> = {};
  let duplicateWarnings = 0;
  for (const id of measured.jobIds) {
    for (const item of await jobResults(s, id)) {
      const userId = item.ref ?? '';
      if (item.ok) enrolled.add(userId);
      else {
        const reason = typeof item.gate === 'string' ? `${item.outcome}:${item.gate}` : item.outcome;
        failed.push({ userId, reason });
        failReasons[reason] = (failReasons[reason] ?? 0) + 1;
      }
      if (Array.isArray(item.warnings) && item.warnings.length > 0) duplicateWarnings++;
    }
  }
  return { enrolled, failed, failReasons, duplicateWarnings, seconds: measured.seconds };
}

const IdentifyAnswer = z.object({
  faces: z.array(
    z.object({
      candidates: z.array(z.object({ user_id: z.string(), distance: z.number() })),
      is_match: z.boolean(),
    }),
  ),
  threshold: z.number(),
  gallery_size: z.number(),
});
type IdentifyAnswer = z.infer<typeof IdentifyAnswer>;

async function identify(s: Spawned, image: string, extra: object): Promise<IdentifyAnswer> {
  const { status, json } = await call(s, 'POST', '/api/v1/identify', { image, ...extra });
  if (status !== 200) throw new Error(`POST /api/v1/identify: ${status} ${JSON.stringify(json)}`);
  return IdentifyAnswer.parse(json);
}

/** `fn` over `items` with at most `limit` in flight, results in input order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

export interface Probed {
  /** One per probe, in split order. */
  searches: Search[];
  /** Mated probes counted as non-mated because their gallery photo failed enrollment. */
  reclassified: number;
  noFace: { mated: number; nonMated: number };
  gallerySize: number;
  seconds: number;
  /** The service's own decision: identify without a threshold, its is_match on the top-1. */
  defaultDecision: Rates;
  /** Probes where that is_match differs from "permissive top-1 <= reported threshold". */
  defaultDisagreements: number;
}

export async function collectSearches(
  s: Spawned,
  split: OpenSetSplit,
  bytes: Map<string, Buffer>,
  enrolled: ReadonlySet<string>,
  options: { topK: number; concurrency: number },
): Promise<Probed> {
  const t0 = performance.now();
  const answers = await mapLimit(split.probes, options.concurrency, async (p) => {
    const image = (bytes.get(p.photo) as Buffer).toString('base64');
    // A distance is in [0, 2]: threshold 2 makes is_match true for any candidate, so the list
    // is the raw ranking. The second call is what a client sends: no threshold, default top_k.
    const permissive = await identify(s, image, { top_k: options.topK, threshold: 2 });
    const byDefault = await identify(s, image, {});
    return { permissive, byDefault };
  });
  const seconds = (performance.now() - t0) / 1000;

  let reclassified = 0;
  const noFace = { mated: 0, nonMated: 0 };
  let disagreements = 0;
  let defaultFp = 0;
  let defaultHits = 0;
  let gallerySize = 0;
  const threshold = answers[0]?.byDefault.threshold ?? Number.NaN;
  const searches = split.probes.map((p, i): Search => {
    const { permissive, byDefault } = answers[i] as (typeof answers)[number];
    gallerySize = permissive.gallery_size;
    const mated = p.kind === 'mated' && enrolled.has(p.userId);
    if (p.kind === 'mated' && !mated) reclassified++;
    const face = permissive.faces[0];
    if (!face) noFace[mated ? 'mated' : 'nonMated']++;
    const candidates = (face?.candidates ?? []).map((c) => ({ id: c.user_id, distance: c.distance }));
    const def = byDefault.faces[0];
    const defMatch = def?.is_match === true;
    if (byDefault.threshold !== threshold) throw new Error('identify reported two default thresholds');
    if (defMatch !== (candidates[0] !== undefined && candidates[0].distance <= threshold)) disagreements++;
    if (mated && defMatch && def?.candidates[0]?.user_id === p.userId) defaultHits++;
    if (!mated && defMatch) defaultFp++;
    return { mate: mated ? p.userId : null, candidates };
  });
  const nMated = searches.filter((x) => x.mate !== null).length;
  const nNonMated = searches.length - nMated;
  return {
    searches,
    reclassified,
    noFace,
    gallerySize,
    seconds,
    defaultDecision: {
      threshold,
      fpir: defaultFp / nNonMated,
      fnir: (nMated - defaultHits) / nMated,
      mated: nMated,
      nonMated: nNonMated,
      falsePositives: defaultFp,
    },
    defaultDisagreements: disagreements,
  };
}

const EmbedAnswer = z.object({ embedding: z.array(z.number()) });

/** POST /api/v1/embed (largest face) for each photo; undefined where no face was found. */
export async function embedPhotos(
  s: Spawned,
  photos: string[],
  bytes: Map<string, Buffer>,
  concurrency: number,
): Promise<(Float32Array | undefined)[]> {
  return mapLimit(photos, concurrency, async (photo) => {
    const image = (bytes.get(photo) as Buffer).toString('base64');
    const { status, json } = await call(s, 'POST', '/api/v1/embed', { image, face: 'largest' });
    if (status === 422 && (json as { error_code?: unknown }).error_code === 'NO_FACE_DETECTED')
      return undefined;
    if (status !== 200) throw new Error(`POST /api/v1/embed: ${status} ${JSON.stringify(json)}`);
    return Float32Array.from(EmbedAnswer.parse(json).embedding);
  });
}
