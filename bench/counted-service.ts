/**
 * The all-in-one service (src/all-in-one.ts) with every store and blob-store call counted, for
 * the benches' per-item cost table. Bench-only: production code carries no counting flag; the
 * API and the worker are handed a Proxy over the persistence they opened (the same hook the
 * fault-injection tests use), and the bench asks for the counts over the IPC channel:
 * send `'counts'`, get back `{ counts: { 'worker.store.enroll': n, 'api.blobs.put': m, ... } }`.
 */
import { Registry } from 'prom-client';
import { startApiServer, type ApiServer } from '../src/api/server.js';
import { loadConfig } from '../src/shared/config.js';
import { createLogger } from '../src/shared/logger.js';
import { onShutdown } from '../src/shared/shutdown.js';
import type { Persistence } from '../src/shared/store/index.js';
import { startWorkerService, type WorkerService } from '../src/worker/service.js';

const counts: Record<string, number> = {};

/** Every method call on `target` adds one to `<side>.<name>.<method>`. */
function counted<T extends object>(target: T, label: string): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const key = `${label}.${prop}`;
      return (...args: unknown[]): unknown => {
        counts[key] = (counts[key] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

const wrap =
  (side: 'api' | 'worker') =>
  (p: Persistence): Persistence => ({
    store: counted(p.store, `${side}.store`),
    blobs: counted(p.blobs, `${side}.blobs`),
    close: () => p.close(),
  });

process.on('message', (m) => {
  if (m === 'counts') process.send?.({ counts });
});

const config = loadConfig();
const logger = createLogger(config.logLevel, 'shelia-bench');
const registry = new Registry();
const running: { worker?: WorkerService; api?: ApiServer } = {};
onShutdown(logger, async () => {
  const deadline = Date.now() + config.shutdownGraceMs;
  await running.api?.close(config.shutdownGraceMs);
  await running.worker?.close(Math.max(1000, deadline - Date.now()));
});
running.worker = await startWorkerService(config, logger, registry, { wrapPersistence: wrap('worker') });
running.api = await startApiServer(config, logger, registry, { wrapPersistence: wrap('api') });
