/**
 * Prometheus metric names and label sets, shared so dashboards and both processes agree.
 * Labels stay bounded: route patterns (never raw paths), job names, queue names, stages.
 */
export const METRICS = {
  httpRequests: 'shelia_http_requests_total',
  httpDuration: 'shelia_http_request_duration_seconds',
  jobs: 'shelia_jobs_total',
  items: 'shelia_items_total',
  jobDuration: 'shelia_job_duration_seconds',
  stageDuration: 'shelia_inference_stage_duration_seconds',
  poolUtilization: 'shelia_pool_utilization_ratio',
  poolQueue: 'shelia_pool_queue_size',
  queueDepth: 'shelia_queue_jobs',
  galleryTemplates: 'shelia_gallery_templates',
  webhookDeliveries: 'shelia_webhook_deliveries_total',
  workersAlive: 'shelia_workers_alive',
} as const;

/** Latency buckets (seconds) from a 3 ms face to a 30 s timeout. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
