import type { DefaultJobOptions } from 'bullmq';
import type { z } from 'zod';
import type { Config } from '../config.js';
import { ATTENDANCE_BATCH_JOB, ATTENDANCE_FRAME_JOB, AttendanceFrameData } from './attendance.js';
import {
  BATCH_CLEANUP_JOB,
  BatchCleanupData,
  BatchParentData,
  EMBED_BATCH_JOB,
  EMBED_ITEM_JOB,
  EmbedItemData,
  ENROLL_BATCH_JOB,
  ENROLL_ITEM_JOB,
  ENROLL_ITEMS_JOB,
  EnrollItemData,
  EnrollItemsData,
  type BatchCleanupResult,
  type BatchSummary,
  type ItemJobResult,
} from './batch.js';
import { EMBED_JOB, EmbedJobData, type EmbedJobResult } from './embed.js';
import { IDENTIFY_JOB, IdentifyJobData, type IdentifyJobResult } from './identify.js';
import { REEMBED_JOB, ReembedData, type ReembedResult } from './reembed.js';
import {
  cleanupJobOptions,
  ITEM_JOB_OPTIONS,
  parentJobOptions,
  SYNC_JOB_OPTIONS,
  webhookJobOptions,
} from './options.js';
import { SYNC_QUEUE, type QueueName } from './queues.js';
import {
  SIGHTINGS_SEARCH_JOB,
  SightingsSearchData,
  UNKNOWNS_GROUP_JOB,
  UnknownsGroupData,
  type SightingsSearchResult,
  type UnknownsGroupResult,
} from './unknowns.js';
import { WEBHOOK_JOB, WebhookJobData, type WebhookJobResult } from './webhook.js';

/** What the registry knows of one job. `R` is what its processor returns (a type only). */
export interface JobSpec<S extends z.ZodType = z.ZodType, Q extends QueueName = QueueName, R = unknown> {
  /** The payload: producers are typed by it, the worker re-parses every job with it. */
  readonly schema: S;
  readonly queue: Q;
  /** BullMQ options of every job of this name (a producer adds only its job id). */
  readonly options: (config: Config) => DefaultJobOptions;
  /**
   * The photo travels in the payload as base64 `image` (sync jobs: small and short-lived); the
   * worker clears it from a job that failed. Other jobs carry blob keys.
   */
  readonly photoInPayload: boolean;
  /** Never set: carries `R` for JobResult. */
  readonly result?: R;
}

/** `job<Result>()({ ... })`: the spec, typed with the result its processor returns. */
const job =
  <R>() =>
  <S extends z.ZodType, Q extends QueueName>(spec: Omit<JobSpec<S, Q, R>, 'result'>): JobSpec<S, Q, R> =>
    spec;

const sync = { queue: SYNC_QUEUE, options: () => SYNC_JOB_OPTIONS, photoInPayload: true } as const;
const item = { queue: 'items', options: () => ITEM_JOB_OPTIONS, photoInPayload: false } as const;
const parent = { queue: 'batch', options: parentJobOptions, photoInPayload: false } as const;

/**
 * Every job, in one place. Adding a job: its schema and result type in a file of this folder,
 * an entry here, and its processor in src/worker/job-runner.ts (a missing one does not compile).
 */
export const JOBS = {
  [EMBED_JOB]: job<EmbedJobResult>()({ schema: EmbedJobData, ...sync }),
  [IDENTIFY_JOB]: job<IdentifyJobResult>()({ schema: IdentifyJobData, ...sync }),
  [SIGHTINGS_SEARCH_JOB]: job<SightingsSearchResult>()({ schema: SightingsSearchData, ...sync }),
  [ENROLL_ITEM_JOB]: job<ItemJobResult>()({ schema: EnrollItemData, ...item }),
  [ENROLL_ITEMS_JOB]: job<ItemJobResult>()({ schema: EnrollItemsData, ...item }),
  [EMBED_ITEM_JOB]: job<ItemJobResult>()({ schema: EmbedItemData, ...item }),
  [ATTENDANCE_FRAME_JOB]: job<ItemJobResult>()({ schema: AttendanceFrameData, ...item }),
  [ENROLL_BATCH_JOB]: job<BatchSummary>()({ schema: BatchParentData, ...parent }),
  [EMBED_BATCH_JOB]: job<BatchSummary>()({ schema: BatchParentData, ...parent }),
  [ATTENDANCE_BATCH_JOB]: job<BatchSummary>()({ schema: BatchParentData, ...parent }),
  [BATCH_CLEANUP_JOB]: job<BatchCleanupResult>()({
    schema: BatchCleanupData,
    queue: 'batch',
    options: cleanupJobOptions,
    photoInPayload: false,
  }),
  [WEBHOOK_JOB]: job<WebhookJobResult>()({
    schema: WebhookJobData,
    queue: 'webhooks',
    options: webhookJobOptions,
    photoInPayload: false,
  }),
  // One grouping at a time across every worker (global concurrency 1): src/shared/unknowns.ts.
  [UNKNOWNS_GROUP_JOB]: job<UnknownsGroupResult>()({
    schema: UnknownsGroupData,
    queue: 'unknowns',
    options: cleanupJobOptions,
    photoInPayload: false,
  }),
  // A whole enrollment batch re-analysed photo by photo after a pack change (src/worker/reembed-cli.ts);
  // on the items queue, so it shares the workers' batch capacity and never delays a waiting caller.
  [REEMBED_JOB]: job<ReembedResult>()({ schema: ReembedData, ...item }),
} as const;

type Jobs = typeof JOBS;
export type JobName = keyof Jobs;
/** The payload of job `N` (as its schema parses it). */
export type JobData<N extends JobName> = z.output<Jobs[N]['schema']>;
/** What job `N`'s processor returns (a sync job's caller gets it; a refusal is thrown instead). */
export type JobResult<N extends JobName> = Exclude<Jobs[N]['result'], undefined>;

type NamesOn<Q extends QueueName> = { [N in JobName]: Jobs[N]['queue'] extends Q ? N : never }[JobName];
/** Jobs an HTTP caller waits for (/embed, /identify, /sightings/search): the sync queue's. */
export type SyncJobName = NamesOn<typeof SYNC_QUEUE>;
/** A batch's items: the children of its flow. */
export type ItemJobName = Exclude<NamesOn<'items'>, typeof REEMBED_JOB>;

/** The flow parents, one per batch type: they finalise a batch once its items have finished. */
export const BATCH_PARENT_JOBS = [ENROLL_BATCH_JOB, EMBED_BATCH_JOB, ATTENDANCE_BATCH_JOB] as const;
export type ParentJobName = (typeof BATCH_PARENT_JOBS)[number];

export const isJobName = (name: string): name is JobName => Object.hasOwn(JOBS, name);
export const isSyncJob = (name: string): name is SyncJobName =>
  isJobName(name) && JOBS[name].queue === SYNC_QUEUE;
export const isBatchParent = (name: string): name is ParentJobName =>
  (BATCH_PARENT_JOBS as readonly string[]).includes(name);
