/**
 * `shelia calibrate`: fetches the service's calibration report for the enrolled gallery and
 * writes it as an SVG chart (or JSON), printing a short summary. The SVG is rendered here from
 * the JSON with the service's own renderer, so one request gives both.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { CalibrationReport } from '../shared/calibration.js';
import { renderCalibrationSvg } from '../shared/calibration-svg.js';

const DEFAULT_SERVER = 'http://127.0.0.1:8000';
/** A large gallery is up to 2 M dot products on the server, plus loading the gallery. */
const TIMEOUT_MS = 10 * 60_000;

export const CALIBRATE_USAGE = `Usage: shelia calibrate [--out FILE] [options]

Measures how well the decision thresholds fit the people enrolled in a Shelia service: distances
between photos of the same person (genuine) and of different people (impostor), false accept
and false reject rates by threshold, the equal error rate, and a recommended threshold.

Options:
  --out FILE        write the report: an SVG chart, or JSON if FILE ends in .json
                    (default: only print the summary)
  --group G         only the people of this group (default: everyone)
  --server URL      the service (default: $SHELIA_URL or ${DEFAULT_SERVER})
  --key K           API key sent as X-API-Key (default: $SHELIA_API_KEY)
  -h, --help        this text

Exit code: 0 report written, 1 not enough enrolled data to calibrate, 2 usage or connection error.`;

/** Only what the summary reads is checked; the rest is the service's own report shape. */
const Report = z.looseObject({
  status: z.enum(['ok', 'insufficient_data']),
  message: z.string(),
  counts: z.looseObject({ users: z.number(), templates: z.number() }),
});

export async function runCalibrate(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: { log: (s: string) => void; error: (s: string) => void } = console,
): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        group: { type: 'string' },
        server: { type: 'string' },
        key: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    out.error(`${err instanceof Error ? err.message : String(err)}\n\n${CALIBRATE_USAGE}`);
    return 2;
  }
  if (values.help) {
    out.log(CALIBRATE_USAGE);
    return 0;
  }
  const server = (values.server ?? env.SHELIA_URL ?? DEFAULT_SERVER).replace(/\/+$/, '');
  if (!URL.canParse(server) || !/^https?:$/.test(new URL(server).protocol)) {
    out.error(`--server must be an http(s) URL, not ${server}`);
    return 2;
  }
  const key = values.key ?? env.SHELIA_API_KEY;
  const query =
    values.group !== undefined ? `?${new URLSearchParams({ group: values.group }).toString()}` : '';

  let report: CalibrationReport;
  try {
    const res = await fetch(`${server}/api/v1/calibration${query}`, {
      headers: { accept: 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok) {
      out.error(`the service answered ${res.status}: ${describeError(text)}`);
      return 2;
    }
    report = Report.parse(JSON.parse(text)) as unknown as CalibrationReport;
  } catch (err) {
    out.error(`cannot get the calibration from ${server}: ${describeFailure(err)}`);
    return 2;
  }

  if (values.out !== undefined) {
    const file = resolve(values.out);
    const body = file.endsWith('.json')
      ? `${JSON.stringify(report, null, 2)}\n`
      : renderCalibrationSvg(report);
    try {
      await writeFile(file, body);
    } catch (err) {
      out.error(`cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
      return 2;
    }
    out.log(`wrote ${file}`);
  }
  for (const line of summary(report)) out.log(line);
  return report.status === 'ok' ? 0 : 1;
}

const pct = (x: number | null) => (x === null ? '-' : `${Number((x * 100).toPrecision(2))} %`);

function summary(r: CalibrationReport): string[] {
  const c = r.counts;
  const head = `${c.users} users, ${c.templates} templates, ${c.genuine_pairs} genuine pairs, ${c.impostor_pairs} impostor pairs`;
  if (r.status !== 'ok') return [head, r.message];
  const lines = [head];
  if (r.impostor_sampling.method === 'sample')
    lines.push(`impostor pairs: a random sample of ${r.impostor_sampling.total_pairs}`);
  if (r.eer) lines.push(`equal error rate ${pct(r.eer.eer)} at threshold ${r.eer.threshold}`);
  for (const f of r.far_targets)
    lines.push(
      f.threshold === null
        ? `FAR ${pct(f.target_far)}: ${f.reason}`
        : `FAR ${pct(f.target_far)}: threshold ${f.threshold}, FRR ${pct(f.frr)}`,
    );
  if (r.recommendation)
    lines.push(`recommended threshold ${r.recommendation.threshold}: ${r.recommendation.reason}`);
  return lines;
}

function describeError(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; error_code?: unknown };
    if (typeof body.error === 'string') return `${String(body.error_code)} ${body.error}`;
  } catch {
    // not JSON (a proxy's error page): show its start
  }
  return text.slice(0, 300);
}

function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'the request timed out';
  if (err instanceof z.ZodError || err instanceof SyntaxError)
    return 'the answer is not a calibration report';
  const cause = err.cause instanceof Error ? err.cause : undefined;
  return (
    (cause && 'code' in cause && typeof cause.code === 'string' ? cause.code : cause?.message) ?? err.message
  );
}
