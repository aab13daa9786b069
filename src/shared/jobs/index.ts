import {
  BATCH_CLEANUP_JOB,
  BatchCleanupData,
  BatchParentData,
  EMBED_BATCH_JOB,
  EMBED_ITEM_JOB,
  EmbedItemData,
  ENROLL_BATCH_JOB,
  ENROLL_ITEM_JOB,
  EnrollItemData,
  type BatchCleanupResult,
  type BatchSummary,
  type ItemJobResult,
} from './batch.js';
import { ATTENDANCE_BATCH_JOB, ATTENDANCE_FRAME_JOB, AttendanceFrameData } from './attendance.js';
import { EMBED_JOB, EmbedJobData, type EmbedJobResult } from './embed.js';
import { IDENTIFY_JOB, IdentifyJobData, type IdentifyJobResult } from './identify.js';
import { REEMBED_JOB, ReembedData, type ReembedResult } from './reembed.js';
import { WEBHOOK_JOB, WebhookJobData, type WebhookJobResult } from './webhook.js';
import {
  SIGHTINGS_SEARCH_JOB,
  SightingsSearchData,
  UNKNOWNS_GROUP_JOB,
  UnknownsGroupData,
  type SightingsSearchResult,
  type UnknownsGroupResult,
} from './unknowns.js';

export * from './attendance.js';
export * from './batch.js';
export * from './identify.js';
export * from './embed.js';
export * from './reembed.js';
export * from './webhook.js';
export * from './unknowns.js';

/** Every job name with its payload schema; adding a job is a line here, in JobResults and a processor. */
export const JOB_SCHEMAS = {
  [EMBED_JOB]: EmbedJobData,
  [ENROLL_BATCH_JOB]: BatchParentData,
  [ENROLL_ITEM_JOB]: EnrollItemData,
  [EMBED_BATCH_JOB]: BatchParentData,
  [EMBED_ITEM_JOB]: EmbedItemData,
  [WEBHOOK_JOB]: WebhookJobData,
  [IDENTIFY_JOB]: IdentifyJobData,
  [ATTENDANCE_BATCH_JOB]: BatchParentData,
  [ATTENDANCE_FRAME_JOB]: AttendanceFrameData,
  [BATCH_CLEANUP_JOB]: BatchCleanupData,
  [UNKNOWNS_GROUP_JOB]: UnknownsGroupData,
  [SIGHTINGS_SEARCH_JOB]: SightingsSearchData,
  [REEMBED_JOB]: ReembedData,
} as const;

export type JobName = keyof typeof JOB_SCHEMAS;

/**
 * Sync jobs carry their (small, short-lived) photo as `image` in the payload; the worker clears
 * it when the job ends. Batch jobs carry blob keys instead.
 */
/** The flow parents, one per batch type: they finalise a batch once its items have finished. */
export const BATCH_PARENT_JOBS: ReadonlySet<string> = new Set<JobName>([
  ENROLL_BATCH_JOB,
  EMBED_BATCH_JOB,
  ATTENDANCE_BATCH_JOB,
]);

/** Jobs an HTTP caller waits for (/embed, /identify, /sightings/search). */
export const SYNC_JOBS: ReadonlySet<string> = new Set<JobName>([
  EMBED_JOB,
  IDENTIFY_JOB,
  SIGHTINGS_SEARCH_JOB,
]);

/**
 * What a sync job that refused its input returns (the encoded ServiceError): the job completes,
 * and the API answers with the error. BullMQ's failed set is left to real faults.
 */
export interface SyncRefusal {
  refused: string;
}

export const isSyncRefusal = (v: unknown): v is SyncRefusal =>
  typeof v === 'object' && v !== null && typeof (v as { refused?: unknown }).refused === 'string';

export const PHOTO_IN_PAYLOAD: ReadonlySet<string> = new Set<JobName>([
  EMBED_JOB,
  IDENTIFY_JOB,
  SIGHTINGS_SEARCH_JOB,
]);

export interface JobResults {
  [EMBED_JOB]: EmbedJobResult;
  [ENROLL_BATCH_JOB]: BatchSummary;
  [ENROLL_ITEM_JOB]: ItemJobResult;
  [EMBED_BATCH_JOB]: BatchSummary;
  [EMBED_ITEM_JOB]: ItemJobResult;
  [WEBHOOK_JOB]: WebhookJobResult;
  [IDENTIFY_JOB]: IdentifyJobResult;
  [ATTENDANCE_BATCH_JOB]: BatchSummary;
  [ATTENDANCE_FRAME_JOB]: ItemJobResult;
  [BATCH_CLEANUP_JOB]: BatchCleanupResult;
  [UNKNOWNS_GROUP_JOB]: UnknownsGroupResult;
  [SIGHTINGS_SEARCH_JOB]: SightingsSearchResult;
  [REEMBED_JOB]: ReembedResult;
}
