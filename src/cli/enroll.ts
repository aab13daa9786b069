/**
 * `shelia enroll`: read the people, upload them in chunks (each with a content-derived
 * Idempotency-Key, accepted chunks remembered in the state file), poll every job while the
 * next chunk uploads, then collect every result into the report and print a summary.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkBody, makeChunks, type Chunk } from './chunks.js';
import { ApiClient, ApiError, type ResultItem } from './client.js';
import { CliError, EXIT } from './errors.js';
import type { EnrollOptions } from './options.js';
import { Progress, type ProgressStream } from './progress.js';
import { formatSummary, summarise, writeReport, type ReportRow } from './report.js';
import { readSource, type Person } from './sources.js';
import { RunState } from './state.js';

export interface EnrollIo {
  stdout: { write(chunk: string): unknown };
  stderr: ProgressStream;
  /** Delay between status polls of a job (default 500 ms). */
  pollMs?: number;
}

const TERMINAL = new Set(['completed', 'completed_with_errors', 'failed']);
/** Refusals that concern this chunk's content: its people fail, the run goes on. */
const CHUNK_LEVEL_STATUS = new Set([400, 409, 422]);

/** Runs the command; returns the exit code. Usage and connection problems throw a CliError. */
export async function runEnroll(options: EnrollOptions, io: EnrollIo): Promise<number> {
  const source = await readSource(options.source, options.group ? { group: options.group } : {});
  const { people } = source;
  if (people.length === 0) throw new CliError(`${options.source}: no people found`);
  const chunks = makeChunks(people, { size: options.chunk, mode: options.mode });
  const total = chunks.reduce((n, c) => n + c.people.length, 0);
  const progress = new Progress(io.stderr, total);
  for (const w of source.warnings) progress.log(`warning: ${w}`);
  const state = await RunState.load(options.state, (m) => progress.log(`warning: ${m}`));
  const abort = new AbortController();
  const client = new ApiClient({ baseUrl: options.server, apiKey: options.apiKey, signal: abort.signal });
  const pollMs = io.pollMs ?? 500;

  const rows = new Map<Person, ReportRow>();
  const jobs = new Map<string, { done: number; failed: number }>();
  const counts = { uploaded: 0, replayed: 0, resumed: 0, rejectedDone: 0 };
  const showProgress = () => {
    let done = counts.rejectedDone;
    let failed = counts.rejectedDone;
    for (const p of jobs.values()) {
      done += p.done;
      failed += p.failed;
    }
    progress.update({ uploaded: counts.uploaded + counts.replayed + counts.resumed, done, failed });
  };
  let fatal: Error | undefined;
  const stop = (err: unknown) => {
    fatal ??= err instanceof Error ? err : new Error(String(err));
    abort.abort();
  };

  /** The chunk's job id: from the state file if the service still knows it, else by uploading. */
  const accept = async (chunk: Chunk): Promise<string | undefined> => {
    const known = state.get(chunk.key, client.baseUrl);
    if (known) {
      try {
        await client.job(known.job_id);
        counts.resumed += chunk.people.length;
        return known.job_id;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'JOB_NOT_FOUND')) throw err;
        progress.log(`warning: the service no longer knows job ${known.job_id}; uploading again`);
        await state.delete(chunk.key);
      }
    }
    const body = await chunkBody(chunk);
    let accepted;
    try {
      accepted = await client.enroll(body, chunk.key);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (!CHUNK_LEVEL_STATUS.has(err.status)) throw fatalApiError(err, chunk);
      progress.log(`warning: chunk ${chunk.index + 1} refused: ${err.code} ${err.message}`);
      for (const p of chunk.people) rows.set(p, row(p, err.code, false, err.message, ''));
      counts.rejectedDone += chunk.people.length;
      counts.uploaded += chunk.people.length;
      return undefined;
    }
    const { job_id } = accepted.accepted;
    if (accepted.replayed) counts.replayed += chunk.people.length;
    else counts.uploaded += chunk.people.length;
    await state.set(chunk.key, {
      job_id,
      server: client.baseUrl,
      people: chunk.people.length,
      accepted_at: new Date().toISOString(),
    });
    return job_id;
  };

  /** Polls the job to its end, then records a row per person from its results. */
  const follow = async (chunk: Chunk, jobId: string): Promise<void> => {
    try {
      for (;;) {
        const status = await client.job(jobId);
        jobs.set(jobId, status.progress);
        showProgress();
        if (TERMINAL.has(status.status)) break;
        await sleep(pollMs, undefined, { signal: abort.signal });
      }
      const byIndex = new Map<number, ResultItem>();
      let cursor: string | undefined;
      do {
        const page = await client.results(jobId, cursor);
        for (const r of page.items) byIndex.set(r.index, r);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      for (const [i, p] of chunk.people.entries()) rows.set(p, resultRow(p, byIndex.get(i), jobId));
    } catch (err) {
      stop(err);
    }
  };

  const following: Promise<void>[] = [];
  try {
    for (const chunk of chunks) {
      if (abort.signal.aborted) break;
      const jobId = await accept(chunk);
      showProgress();
      if (jobId) following.push(follow(chunk, jobId));
    }
  } catch (err) {
    stop(err);
  }
  await Promise.all(following);
  progress.finish();
  if (fatal !== undefined) {
    if (fatal instanceof CliError) throw fatal;
    if (fatal instanceof ApiError) throw new CliError(`the service answered ${fatal.code}: ${fatal.message}`);
    throw fatal;
  }

  const report: ReportRow[] = people.map(
    (p) =>
      rows.get(p) ??
      row(p, p.problem?.outcome ?? 'NOT_UPLOADED', false, p.problem?.error ?? 'not uploaded', ''),
  );
  const jobIds = [...jobs.keys()];
  await writeReport(options.report, report, {
    server: client.baseUrl,
    source: options.source,
    mode: options.mode,
    jobs: jobIds,
  });
  const summary = summarise(report);
  const resumed = counts.resumed > 0 ? `, ${counts.resumed} people resumed from the state file` : '';
  const replayed = counts.replayed > 0 ? `, ${counts.replayed} people replayed by the service` : '';
  io.stdout.write(
    `${formatSummary(summary)}\njobs: ${jobIds.length}${replayed}${resumed}\nreport: ${options.report}\n`,
  );
  return summary.failed === 0 ? EXIT.OK : EXIT.ITEMS_FAILED;
}

function row(p: Person, outcome: string, ok: boolean, error: string, job_id: string): ReportRow {
  return { user_id: p.user_id, name: p.name, outcome, ok, error, job_id };
}

function resultRow(p: Person, r: ResultItem | undefined, jobId: string): ReportRow {
  if (!r) return row(p, 'NO_RESULT', false, 'the service returned no result for this person', jobId);
  const warnings = Array.isArray(r.warnings) ? r.warnings.filter((w) => typeof w === 'string') : [];
  const error = r.ok ? warnings.join('; ') : typeof r.error === 'string' ? r.error : r.outcome;
  return row(p, r.outcome, r.ok, error, jobId);
}

/** A refusal that would repeat for every chunk (bad key, wrong server, too big): stop the run. */
function fatalApiError(err: ApiError, chunk: Chunk): CliError {
  const hint =
    err.status === 401 || err.status === 403
      ? ' (check --key or SHELIA_API_KEY)'
      : err.status === 413
        ? ' (try a smaller --chunk)'
        : err.status === 404
          ? ' (is --server a Shelia service?)'
          : '';
  return new CliError(`chunk ${chunk.index + 1} refused: ${err.code} ${err.message}${hint}`);
}
