/**
 * How a storage-neutral rule (./attendance-window.ts) is written once for backends of both
 * kinds: SQLite's calls are synchronous and must all run inside one synchronous transaction
 * (an `await` there would let other calls on the connection into it), MongoDB's return promises.
 * So a rule is a generator over its backend's primitives: `yield* step(x)` reads as `await x`
 * and also takes a plain value; the backend runs the generator with `runSync` (inside its
 * transaction) or `runAsync`.
 */

/** What a primitive gives: a value (a synchronous backend) or its promise. */
export type Step<T> = T | Promise<T>;
/** A rule's body, run by runSync or runAsync; it evaluates to T. */
export type Steps<T> = Generator<unknown, T, unknown>;

/** `yield* step(x)`: the value of x, awaited when the run is asynchronous. */
export function* step<T>(value: Step<T>): Steps<T> {
  // The runner sends back exactly what was yielded (resolved, when a promise): a T.
  return (yield value) as T;
}

/** Runs the steps to the end now; a primitive that gives a promise is a bug of the backend. */
export function runSync<T>(steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) {
    if (next.value instanceof Promise) throw new TypeError('a synchronous backend gave a promise');
    next = steps.next(next.value);
  }
  return next.value;
}

/** Runs the steps, awaiting each primitive; a rejection is thrown into the rule where it waited. */
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = await next.value;
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}
