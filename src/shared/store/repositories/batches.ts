import type { BatchJob, BatchJobPatch, ItemResult, Page } from '../types.js';

/** Batches (jobs) and the result of each of their items. */
export interface BatchRepository {
  createJob(job: BatchJob): Promise<void>;
  getJob(jobId: string): Promise<BatchJob | undefined>;
  /** Sets the fields given (undefined ones are left as they are). */
  updateJob(jobId: string, patch: BatchJobPatch): Promise<void>;
  /** Upsert by (job_id, index): a retried item overwrites, never duplicates. */
  putItemResult(result: ItemResult): Promise<void>;
  getItemResult(jobId: string, index: number): Promise<ItemResult | undefined>;
  /** In index order, after `cursor`; with `outcome`, only the items that ended with it. */
  listItemResults(
    jobId: string,
    query: { cursor?: string; limit: number; outcome?: string },
  ): Promise<Page<ItemResult>>;
  countItemResults(jobId: string): Promise<{ done: number; failed: number }>;
}
