import { Hono } from 'hono';
import { except } from 'hono/combine';
import { ServiceError } from '../shared/errors.js';
import type { ApiDeps } from './deps.js';
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
import { jobRoutes } from './routes/jobs.js';
import { unknownRoutes } from './routes/unknowns.js';
import { userRoutes } from './routes/users.js';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js';
import { docsRoutes } from './routes/docs.js';
import { embedRoutes } from './routes/embed.js';
import { healthRoutes, modelRoutes } from './routes/info.js';

/** The HTTP app, importable by tests (`app.request(...)`) without a server. */
export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();
  app.use('*', requestIds(), accessLog(deps.logger), httpMetrics(deps.registry));
  gatewayMetrics(deps.registry, deps.jobs);
  // Health, metrics and the docs are open; every other /api route needs a key (when keys are set).
  app.use('/api/*', except('/api/v1/health', apiKeyAuth(deps.config.apiKeys, deps.config.apiKeyHashes)));
  app.route('/', healthRoutes(deps));
  app.route('/', docsRoutes(deps));
  app.route('/', modelRoutes(deps));
  app.route('/', embedRoutes(deps));
  app.route('/', compareRoutes(deps));
  app.route('/', enrollmentRoutes(deps));
  app.route('/', batchEmbedRoutes(deps));
  app.route('/', jobRoutes(deps));
  app.route('/', userRoutes(deps));
  app.route('/', attendanceRoutes(deps));
  app.route('/', unknownRoutes(deps));
  app.route('/', calibrationRoutes(deps));
  app.route('/', webhookEndpointRoutes(deps));
  // Answered here, not thrown: Hono calls notFound outside the middleware chain's try/catch.
  app.notFound((c) => {
    c.set('errorCode', 'NOT_FOUND');
    return c.json(new ServiceError('NOT_FOUND', 'no such endpoint').toBody(), 404);
  });
  app.onError(errorHandler(deps.logger));
  return app;
}
