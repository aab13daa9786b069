import { EMBED_JOB, EmbedJobData, type EmbedJobResult } from './embed.js';

export * from './embed.js';

/** Every job name with its payload schema; adding a job is one line here and one processor. */
export const JOB_SCHEMAS = {
  [EMBED_JOB]: EmbedJobData,
} as const;

export type JobName = keyof typeof JOB_SCHEMAS;

export interface JobResults {
  [EMBED_JOB]: EmbedJobResult;
}
