import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Counter, Histogram, type Registry } from 'prom-client';
import { DURATION_BUCKETS, METRICS } from '../../shared/metrics-names.js';

/** Requests and latency labelled by route pattern (`/api/v1/jobs/:id`), never the raw path. */
export function httpMetrics(registry: Registry): MiddlewareHandler {
  const registers = [registry];
  const requests = new Counter({
    name: METRICS.httpRequests,
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: METRICS.httpDuration,
    help: 'HTTP request latency by route pattern',
    labelNames: ['method', 'route'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  return async (c, next) => {
    const end = duration.startTimer();
    await next();
    // The last matched route is the handler's pattern; only middleware ('*', '/api/*') = no route.
    const last = routePath(c, -1);
    const route = last.endsWith('*') ? 'unmatched' : last;
    end({ method: c.req.method, route });
    requests.inc({ method: c.req.method, route, status: String(c.res.status) });
  };
}
