import type { Persistence, Store } from '../../src/shared/store/index.js';

type Method = (...args: never[]) => unknown;

/**
 * A worker's `wrapPersistence` (WorkerOptions) that keeps the real store and blob store but
 * lets the test stand in for some of the store's methods: `methods[name](real)` is called on
 * every call of `name` with the real method (bound) and returns what to call instead. The
 * faults tests inject (a write that fails, a check that misses once) then hit the real SQLite or
 * MongoDB-protocol store otherwise.
 */
export function withStoreMethods(methods: {
  [K in keyof Store]?: (real: Store[K]) => Store[K];
}): (p: Persistence) => Persistence {
  return (p) => ({
    ...p,
    store: new Proxy<Store>(p.store, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        const real = (value as Method).bind(target);
        const stand = methods[prop as keyof Store] as ((real: Method) => Method) | undefined;
        return stand ? stand(real) : real;
      },
    }),
  });
}
