/**
 * One registry of every error Shelia reports: a stable `error_code`, its HTTP status, and
 * whether a job that failed with it may be retried. The API maps these to responses in one
 * place (src/api/error-handler.ts); the worker uses `retryable` to choose between BullMQ's
 * backoff and `UnrecoverableError`.
 */
export const ERROR_CODES = {
  INVALID_REQUEST: { status: 400, retryable: false },
  INVALID_IMAGE: { status: 400, retryable: false },
  INVALID_EMBEDDING: { status: 400, retryable: false },
  DIMENSION_MISMATCH: { status: 400, retryable: false },
  EMPTY_REFERENCES: { status: 400, retryable: false },
  MODEL_MISMATCH: { status: 422, retryable: false },
  UNAUTHORIZED: { status: 401, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false },
  USER_NOT_FOUND: { status: 404, retryable: false },
  JOB_NOT_FOUND: { status: 404, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  IMAGE_TOO_LARGE: { status: 413, retryable: false },
  TOO_MANY_REFERENCES: { status: 413, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  NO_FACE_DETECTED: { status: 422, retryable: false },
  LOW_QUALITY: { status: 422, retryable: false },
  DUPLICATE_PERSON: { status: 409, retryable: false },
  IDEMPOTENCY_KEY_REUSED: { status: 422, retryable: false },
  WEBHOOK_SECRET_REQUIRED: { status: 400, retryable: false },
  BATCH_TOO_LARGE: { status: 413, retryable: false },
  MULTIPLE_FACES: { status: 422, retryable: false },
  INTERNAL_ERROR: { status: 500, retryable: true },
  SERVICE_UNAVAILABLE: { status: 503, retryable: true },
  TIMEOUT: { status: 504, retryable: true },
  MODEL_INTEGRITY: { status: 500, retryable: false },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra fields that help the caller, e.g. `faces_detected` or the offending `field`. */
export type ErrorDetails = Record<string, string | number | boolean | null>;

export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'ServiceError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  /** The response body every error uses: `{ error, error_code, ...details }`. */
  toBody(): Record<string, unknown> {
    return { error: this.message, error_code: this.code, ...this.details };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * BullMQ keeps only a string (`failedReason`) for a failed job, and Piscina only clones plain
 * data across threads; this is the one encoding both use so the code survives the trip.
 */
export function encodeError(err: ServiceError): string {
  return JSON.stringify({ error_code: err.code, error: err.message, details: err.details });
}

export function decodeError(reason: string | undefined): ServiceError | undefined {
  if (!reason?.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(reason) as { error_code?: unknown; error?: unknown; details?: unknown };
    if (!isErrorCode(parsed.error_code) || typeof parsed.error !== 'string') return undefined;
    const details = (
      typeof parsed.details === 'object' && parsed.details !== null ? parsed.details : {}
    ) as ErrorDetails;
    return new ServiceError(parsed.error_code, parsed.error, details);
  } catch {
    return undefined;
  }
}
