import { OpenAPIHono } from '@hono/zod-openapi';
import type { Hono } from 'hono';
import type { BlankEnv } from 'hono/types';
import { except } from 'hono/combine';
import { ServiceError } from '../shared/errors.js';
import { queueDashboard, QUEUE_DASHBOARD_PATH } from './admin/queues.js';
import type { ApiDeps } from './deps.js';
import { defaultHook } from './docs/openapi-kit.js';
import { allowedMethods } from './allowed-methods.js';
import { errorHandler } from './error-handler.js';
import { gatewayMetrics } from './gateway-metrics.js';
import { apiKeyAuth } from './middleware/auth.js';
import { httpMetrics } from './middleware/http-metrics.js';
import { accessLog, requestIds } from './middleware/request-log.js';
import { attendanceRoutes } from './routes/attendance.js';
import { batchEmbedRoutes } from './routes/batch-embed.js';
import { calibrationRoutes } from './routes/calibration.js';
import { compareRoutes } from './routes/compare.js';
import { enrollmentRoutes } from './routes/enrollments.js';
import { groupRoutes } from './routes/groups.js';
import { jobRoutes } from './routes/jobs.js';
import { unknownRoutes } from './routes/unknowns.js';
import { userRoutes } from './routes/users.js';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js';
import { docsRoutes } from './routes/docs.js';
import { embedRoutes } from './routes/embed.js';
import { healthRoutes, metricsRoutes, modelRoutes } from './routes/info.js';

const V1 = '/api/v1';

/** The HTTP app, importable by tests (`app.request(...)`) without a server. */
export function createApp(deps: ApiDeps): Hono {
  const app = new OpenAPIHono<BlankEnv>({ defaultHook });
  app.use('*', requestIds(), accessLog(deps.logger), httpMetrics(deps.registry));
  gatewayMetrics(deps.registry, deps.workers);
  // Health, metrics and the docs are open; every other /api route needs a key (when keys are set).
  app.use('/api/*', except('/api/v1/health', apiKeyAuth(deps.config.apiKeys, deps.config.apiKeyHashes)));
  app.route(V1, healthRoutes(deps));
  app.route('/', metricsRoutes(deps));
  app.route(V1, modelRoutes(deps));
  app.route(V1, embedRoutes(deps));
  app.route(V1, compareRoutes(deps));
  app.route(V1, enrollmentRoutes(deps));
  app.route(V1, batchEmbedRoutes(deps));
  app.route(V1, jobRoutes(deps));
  app.route(V1, userRoutes(deps));
  app.route(V1, groupRoutes(deps));
  app.route(V1, attendanceRoutes(deps));
  app.route(V1, unknownRoutes(deps));
  app.route('/', calibrationRoutes(deps)); // its prefix is its own: see there
  app.route(V1, webhookEndpointRoutes(deps));
  // /openapi.json and /docs describe the routes mounted above.
  app.route('/', docsRoutes(app, deps));
  if (deps.config.queueDashboard !== 'off') {
    app.route(QUEUE_DASHBOARD_PATH, queueDashboard(deps.config, deps.queues.dashboardQueues()));
  }
  // Answered here, not thrown: Hono calls notFound outside the middleware chain's try/catch.
  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const methods = allowed(c.req.path);
    // A route of this method that found nothing (an unknown asset) is a 404, not a 405.
    if (methods.length > 0 && !methods.includes(c.req.method)) {
      c.set('errorCode', 'METHOD_NOT_ALLOWED');
      c.header('Allow', methods.join(', '));
      const why = `${c.req.method} is not allowed on ${c.req.path}; allowed: ${methods.join(', ')}`;
      return c.json(new ServiceError('METHOD_NOT_ALLOWED', why).toBody(), 405);
    }
    c.set('errorCode', 'NOT_FOUND');
    return c.json(new ServiceError('NOT_FOUND', 'no such endpoint').toBody(), 404);
  });
  app.onError(errorHandler(deps.logger));
  return app;
}
