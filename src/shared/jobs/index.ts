import {
  BatchParentData,
  EMBED_BATCH_JOB,
  EMBED_ITEM_JOB,
  EmbedItemData,
  ENROLL_BATCH_JOB,
  ENROLL_ITEM_JOB,
  EnrollItemData,
  type BatchSummary,
  type ItemJobResult,
} from './batch.js';
import { EMBED_JOB, EmbedJobData, type EmbedJobResult } from './embed.js';
import { WEBHOOK_JOB, WebhookJobData, type WebhookJobResult } from './webhook.js';

export * from './batch.js';
export * from './embed.js';
export * from './webhook.js';

/** Every job name with its payload schema; adding a job is a line here, in JobResults and a processor. */
export const JOB_SCHEMAS = {
  [EMBED_JOB]: EmbedJobData,
  [ENROLL_BATCH_JOB]: BatchParentData,
  [ENROLL_ITEM_JOB]: EnrollItemData,
  [EMBED_BATCH_JOB]: BatchParentData,
  [EMBED_ITEM_JOB]: EmbedItemData,
  [WEBHOOK_JOB]: WebhookJobData,
} as const;

export type JobName = keyof typeof JOB_SCHEMAS;

export interface JobResults {
  [EMBED_JOB]: EmbedJobResult;
  [ENROLL_BATCH_JOB]: BatchSummary;
  [ENROLL_ITEM_JOB]: ItemJobResult;
  [EMBED_BATCH_JOB]: BatchSummary;
  [EMBED_ITEM_JOB]: ItemJobResult;
  [WEBHOOK_JOB]: WebhookJobResult;
}
