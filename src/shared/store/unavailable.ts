/**
 * Errors of the MongoDB driver that mean "the database cannot be reached now" (down, partitioned,
 * too slow, shutting down or stepping down): the request was fine and may succeed later, so the
 * API answers 503, not a 500 bug. Judged by class along the `cause` chain, so nothing here loads
 * the driver for SQLite users: an error is one of these when its `name` or the name of any class
 * it is an instance of is listed. (By `name` alone, a pool cleared after the server went away,
 * `PoolClearedError` named `MongoPoolClearedError`, answered 500 in the full test run.)
 */
const UNAVAILABLE = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError', // and its subclasses: timeouts, cleared pools
  'MongoOperationTimeoutError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoNotConnectedError',
  'PoolClosedError',
  'WaitQueueTimeoutError',
]);

/**
 * Server error codes of a node shutting down, stepping down or not reachable from the one asked
 * (the driver's retryable codes): ShutdownInProgress 91, InterruptedAtShutdown 11600,
 * InterruptedDueToReplStateChange 11602, NotWritablePrimary 10107, NotPrimaryNoSecondaryOk 13435,
 * NotPrimaryOrSecondary 13436, PrimarySteppedDown 189, HostUnreachable 6, HostNotFound 7,
 * NetworkTimeout 89, SocketException 9001.
 */
const UNAVAILABLE_CODES = new Set([91, 11600, 11602, 10107, 13435, 13436, 189, 6, 7, 89, 9001]);

function unavailable(e: Error): boolean {
  if (UNAVAILABLE.has(e.name)) return true;
  const up = (o: object): object | null => Object.getPrototypeOf(o) as object | null;
  for (let p = up(e); p && p !== Error.prototype; p = up(p)) {
    const ctor = (p as { constructor?: { name?: string } }).constructor;
    if (ctor?.name && UNAVAILABLE.has(ctor.name)) return true;
  }
  const code = (e as { code?: unknown }).code;
  return e.name === 'MongoServerError' && typeof code === 'number' && UNAVAILABLE_CODES.has(code);
}

export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (unavailable(e)) return true;
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
