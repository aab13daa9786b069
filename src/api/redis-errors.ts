import { ServiceError, type ErrorDetails } from '../shared/errors.js';

/** What a caller gets when Redis refuses a command, or does not answer it in time. */
export const unavailable = (details: ErrorDetails = {}) =>
  new ServiceError('SERVICE_UNAVAILABLE', 'the job queue (Redis) is unreachable or not answering', details);

export async function unavailableOnError<T>(fn: () => Promise<T>, details: ErrorDetails = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    throw unavailable(details);
  }
}

/** `promise`, or a rejection after `ms` (for waits that have no command timeout of their own). */
export function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
