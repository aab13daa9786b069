/**
 * The few API calls the CLI makes, over global fetch, with retries: network errors, 429 and
 * 5xx are retried with exponential backoff (honouring Retry-After); anything else is an
 * `ApiError` carrying the service's `error_code`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { BatchAccepted, JobStatus } from '../shared/schemas.js';
import { CliError } from './errors.js';

export type BatchAccepted = z.infer<typeof BatchAccepted>;
export type { JobStatus };

const ResultItem = z.looseObject({
  index: z.number().int(),
  ref: z.string().nullable(),
  outcome: z.string(),
  ok: z.boolean(),
});
export type ResultItem = z.infer<typeof ResultItem>;
const ResultsPage = z.object({ items: z.array(ResultItem), next_cursor: z.string().nullable() });
export type ResultsPage = z.infer<typeof ResultsPage>;

/** An error answer of the service: HTTP status, `error_code` and message. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  /**
   * Attempts per request, the first included (default 8: about 35 s of backoff); at most 3 while
   * the service has never answered.
   */
  attempts?: number;
  /** First backoff delay; doubles per attempt up to 10 s (default 500 ms). */
  backoffMs?: number;
  signal?: AbortSignal;
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const MAX_BACKOFF_MS = 10_000;

export class ApiClient {
  readonly baseUrl: string;
  /** Until the service has answered once, a refused connection is more likely a wrong URL. */
  private answered = false;
  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** POST /api/v1/enrollments; `replayed` when the service answered from an earlier request. */
  async enroll(
    body: string,
    idempotencyKey: string,
  ): Promise<{ accepted: BatchAccepted; replayed: boolean }> {
    const res = await this.request('POST', '/api/v1/enrollments', {
      body,
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      timeoutMs: 10 * 60_000,
    });
    return {
      accepted: BatchAccepted.parse(await res.json()),
      replayed: res.headers.get('idempotent-replayed') === 'true',
    };
  }

  async job(jobId: string): Promise<JobStatus> {
    const res = await this.request('GET', `/api/v1/jobs/${encodeURIComponent(jobId)}`);
    return JobStatus.parse(await res.json());
  }

  async results(jobId: string, cursor?: string, limit = 1000): Promise<ResultsPage> {
    const q = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    const res = await this.request(
      'GET',
      `/api/v1/jobs/${encodeURIComponent(jobId)}/results?${q.toString()}`,
    );
    return ResultsPage.parse(await res.json());
  }

  private async request(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<Response> {
    const { attempts = 8, backoffMs = 500, signal, apiKey } = this.options;
    const url = `${this.baseUrl}${path}`;
    for (let attempt = 1; ; attempt++) {
      let retryAfter = NaN;
      let last: ApiError | undefined;
      let failure: string;
      try {
        const timeout = AbortSignal.timeout(init.timeoutMs ?? 30_000);
        const res = await fetch(url, {
          method,
          headers: {
            accept: 'application/json',
            ...(apiKey ? { 'x-api-key': apiKey } : {}),
            ...init.headers,
          },
          ...(init.body !== undefined ? { body: init.body } : {}),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        this.answered = true;
        if (res.ok) return res;
        if (!RETRY_STATUS.has(res.status)) throw await apiError(res);
        last = await apiError(res);
        failure = `${res.status} ${last.message}`;
        retryAfter = Number(res.headers.get('retry-after'));
      } catch (err) {
        if (err instanceof ApiError || signal?.aborted) throw err;
        failure = describeNetworkError(err);
      }
      if (attempt >= (this.answered ? attempts : Math.min(attempts, 3))) {
        if (last) throw last;
        throw new CliError(`cannot reach ${this.baseUrl}: ${failure}`);
      }
      const delay =
        Number.isFinite(retryAfter) && retryAfter > 0
          ? Math.min(retryAfter * 1000, 60_000)
          : Math.min(backoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      await sleep(delay, undefined, signal ? { signal } : {});
    }
  }
}

async function apiError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let code = `HTTP_${res.status}`;
  let message = text.slice(0, 300) || res.statusText;
  try {
    const body = JSON.parse(text) as { error?: unknown; error_code?: unknown };
    if (typeof body.error_code === 'string') code = body.error_code;
    if (typeof body.error === 'string') message = body.error;
  } catch {
    // not JSON (a proxy's error page): keep the text
  }
  return new ApiError(res.status, code, message);
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'the request timed out';
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const code = cause && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
  return code ?? cause?.message ?? err.message;
}
