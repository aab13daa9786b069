import type { Config } from '../shared/config.js';
import { ENROLL_ITEM_JOB, JOBS } from '../shared/jobs/index.js';
import type { ApiDeps } from './deps.js';
import { ErasureScan } from './erasure-scan.js';
import { GalleryChanges } from './gallery-changes.js';
import type { JobGateway } from './job-gateway.js';
import { WorkerRegistry } from './worker-registry.js';

export type JobDeps = Pick<ApiDeps, 'jobs' | 'queues' | 'workers' | 'erasure' | 'gallery'>;

/** The Redis side of ApiDeps, over one gateway (one connection, one QueueEvents). */
export function jobDeps(gateway: JobGateway, config: Config): JobDeps {
  return {
    jobs: gateway,
    queues: gateway,
    workers: new WorkerRegistry(gateway.redis, config, gateway.liveness),
    erasure: new ErasureScan(gateway.queue(JOBS[ENROLL_ITEM_JOB].queue)),
    gallery: new GalleryChanges(gateway.redis, config),
  };
}
