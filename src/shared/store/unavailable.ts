/**
 * Errors of the MongoDB driver that mean "the database cannot be reached now" (down, partitioned,
 * too slow): the request was fine and may succeed later, so the API answers 503, not a 500 bug.
 * Judged by name along the `cause` chain, so nothing here loads the driver for SQLite users.
 */
const UNAVAILABLE = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoOperationTimeoutError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'PoolClearedError',
  'PoolClearedOnNetworkError',
  'MongoWaitQueueTimeoutError',
]);

export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (UNAVAILABLE.has(e.name)) return true;
  }
  return false;
}

/**
 * The database named in a MongoDB connection string (`mongodb://h1:27017,h2/shelia?x=y`), or ''
 * when it names none. Hosts cannot hold a `/` (socket paths are percent-encoded), so the first
 * `/` after the scheme starts the database; a WHATWG URL cannot parse multi-host strings.
 */
export function mongoDatabaseName(url: string): string {
  const scheme = url.indexOf('://');
  if (scheme < 0) return '';
  const rest = url.slice(scheme + 3);
  const slash = rest.indexOf('/');
  if (slash < 0) return '';
  const name = rest.slice(slash + 1).split('?')[0] ?? '';
  try {
    return decodeURIComponent(name);
  } catch {
    return '';
  }
}
