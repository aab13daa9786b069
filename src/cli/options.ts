/** The command line of `shelia enroll`, parsed with node:util parseArgs. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Mode } from './chunks.js';
import { CliError } from './errors.js';

export interface EnrollOptions {
  /** A folder with one sub-folder per person, or a CSV manifest. */
  source: string;
  group?: string;
  server: string;
  apiKey?: string;
  /** People per request. */
  chunk: number;
  report: string;
  state: string;
  mode: Mode;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8000';
export const DEFAULT_CHUNK = 50;
/** The service's default MAX_BATCH_ITEMS. */
const MAX_CHUNK = 1000;

export const ENROLL_USAGE = `Usage: shelia enroll <folder | manifest.csv> [options]

Enrolls people in a Shelia service. A folder holds one sub-folder per person (the folder name is
the display name; the user_id is that name with spaces and other characters outside
A-Z a-z 0-9 _ . @ : - replaced by _) with that person's photos (.jpg .jpeg .png .webp, at most
10). A CSV manifest has the header user_id,name,path[,group] and one row per photo; paths are
relative to the CSV's folder.

Options:
  --group G         group of every person (a manifest's group column wins)
  --server URL      the service (default: $SHELIA_URL or ${DEFAULT_SERVER})
  --key K           API key sent as X-API-Key (default: $SHELIA_API_KEY)
  --chunk N         people per request (default ${DEFAULT_CHUNK}, at most ${MAX_CHUNK})
  --mode add|replace  add photos to known users (default) or replace their templates
  --report FILE     per-person report; JSON if FILE ends in .json
                    (default: enroll-report-<timestamp>.csv)
  --state FILE      resume file of accepted requests (default: <report>.state.json)
  -h, --help        this text

Re-running the same input is safe: each request carries an Idempotency-Key derived from its
content, so the service replays requests it already accepted instead of enrolling twice.
Exit code: 0 all enrolled, 1 some people failed, 2 usage or connection error.`;

/** `enroll-report-2024-05-01T12-30-00Z.csv`: a timestamp that is a valid file name everywhere. */
export function defaultReportName(now: Date): string {
  return `enroll-report-${now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-')}.csv`;
}

/** The options of `enroll`, or 'help'; a bad command line throws a CliError. */
export function parseEnrollArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  now = new Date(),
  cwd = process.cwd(),
): EnrollOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        group: { type: 'string' },
        server: { type: 'string' },
        key: { type: 'string' },
        chunk: { type: 'string' },
        report: { type: 'string' },
        state: { type: 'string' },
        mode: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new CliError('give exactly one folder or manifest.csv');
  const chunk = values.chunk === undefined ? DEFAULT_CHUNK : Number(values.chunk);
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > MAX_CHUNK)
    throw new CliError(`--chunk must be a whole number from 1 to ${MAX_CHUNK}`);
  const mode = values.mode ?? 'add';
  if (mode !== 'add' && mode !== 'replace') throw new CliError('--mode must be add or replace');
  if (values.group !== undefined && (values.group.length < 1 || values.group.length > 128))
    throw new CliError('--group must be 1-128 characters');
  const server = values.server ?? env.SHELIA_URL ?? DEFAULT_SERVER;
  if (!URL.canParse(server) || !/^https?:$/.test(new URL(server).protocol))
    throw new CliError(`--server must be an http(s) URL, not ${server}`);
  const apiKey = values.key ?? env.SHELIA_API_KEY;
  const report = resolve(cwd, values.report ?? defaultReportName(now));
  return {
    source: resolve(cwd, positionals[0] as string),
    ...(values.group !== undefined ? { group: values.group } : {}),
    server,
    ...(apiKey ? { apiKey } : {}),
    chunk,
    report,
    state: values.state !== undefined ? resolve(cwd, values.state) : `${report}.state.json`,
    mode,
  };
}
