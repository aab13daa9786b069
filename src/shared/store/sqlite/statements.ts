import type Database from 'better-sqlite3';

type Prepare = <P extends unknown[] = unknown[], R = unknown>(sql: string) => Database.Statement<P, R>;

const caches = new WeakMap<Database.Database, Prepare>();

/**
 * Statements bound to more SQL texts than this are dropped and prepared again: a few texts are
 * built per call (an UPDATE's SET list, an IN list per id count), so the cache must not grow
 * with them without end. The store's fixed texts number ~80.
 */
const MAX_STATEMENTS = 1000;

/**
 * Statements prepared once per connection, on first use (after init() made the tables), shared
 * by every repository on it. Preparing costs ~14 µs a statement here (measured: 20,000 prepares
 * of the window rule's SELECT), a quarter of a sighting's CPU when each of its four statements
 * was prepared per call; an enrollment item's ten store statements took 0.8 ms of the worker's
 * main thread per photo in bench:enroll's profile (391 ms of `prepare` for 550 items).
 */
export function statements(db: Database.Database): Prepare {
  let prepare = caches.get(db);
  if (prepare) return prepare;
  const cache = new Map<string, Database.Statement>();
  prepare = <P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> => {
    let stmt = cache.get(sql);
    if (!stmt) {
      if (cache.size >= MAX_STATEMENTS) cache.clear();
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    // Cached untyped; each caller names its own parameters and row, as db.prepare<P, R> would.
    return stmt as unknown as Database.Statement<P, R>;
  };
  caches.set(db, prepare);
  return prepare;
}
