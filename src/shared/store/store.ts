import type { AttendanceRepository } from './repositories/attendance.js';
import type { BatchRepository } from './repositories/batches.js';
import type { IdempotencyRepository } from './repositories/idempotency.js';
import type { UnknownRepository } from './repositories/unknowns.js';
import type { UserRepository } from './repositories/users.js';
import type { WebhookRepository } from './repositories/webhooks.js';

export type * from './types.js';
export type {
  AttendanceRepository,
  BatchRepository,
  IdempotencyRepository,
  UnknownRepository,
  UserRepository,
  WebhookRepository,
};

/** Opening, closing and probing the database behind the repositories. */
export interface StoreLifecycle {
  readonly kind: 'sqlite' | 'mongodb';
  /** Creates tables/collections and indexes. Safe to call on every start. */
  init(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the store answers a trivial query (for /health); rejects when it cannot. */
  ping(): Promise<void>;
}

/**
 * What a backend provides: one plain object per repository (./repositories/), each a module of
 * the backend's folder (./sqlite/, ./mongo/). `composeStore` makes them one Store.
 */
export interface StoreParts {
  lifecycle: StoreLifecycle;
  users: UserRepository;
  batches: BatchRepository;
  idempotency: IdempotencyRepository;
  attendance: AttendanceRepository;
  unknowns: UnknownRepository;
  webhooks: WebhookRepository;
}

/**
 * The persistence the API and the workers use: every repository's methods on one object (so
 * `store.enroll(...)` reads as before). Code that needs one concern can ask for that repository.
 * Implementations: SQLite (sqlite-store.ts, the embedded default) and MongoDB (mongo-store.ts,
 * when MONGODB_URL is set); both pass one conformance suite (test/shared/store/conformance/, a file per repository).
 */
export type Store = StoreLifecycle &
  UserRepository &
  BatchRepository &
  IdempotencyRepository &
  AttendanceRepository &
  UnknownRepository &
  WebhookRepository;

/**
 * One Store from a backend's parts. The repositories' method names are disjoint; a name given
 * twice (a backend module exporting a method of another repository) is refused rather than
 * silently overridden by the later part.
 */
export function composeStore(parts: StoreParts): Store {
  const { lifecycle, users, batches, idempotency, attendance, unknowns, webhooks } = parts;
  const seen = new Set<string>();
  for (const part of [lifecycle, users, batches, idempotency, attendance, unknowns, webhooks]) {
    for (const name of Object.keys(part)) {
      if (seen.has(name)) throw new Error(`composeStore: "${name}" is given by two repositories`);
      seen.add(name);
    }
  }
  return { ...lifecycle, ...users, ...batches, ...idempotency, ...attendance, ...unknowns, ...webhooks };
}
