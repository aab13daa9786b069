export * from './attendance.js';
export * from './batch.js';
export * from './identify.js';
export * from './embed.js';
export * from './webhook.js';
export * from './unknowns.js';
export * from './reembed.js';
export * from './registry.js';
export * from './job-queue.js';

/**
 * What a sync job that refused its input returns (the encoded ServiceError): the job completes,
 * and the API answers with the error. BullMQ's failed set is left to real faults.
 */
export interface SyncRefusal {
  refused: string;
}

export const isSyncRefusal = (v: unknown): v is SyncRefusal =>
  typeof v === 'object' && v !== null && typeof (v as { refused?: unknown }).refused === 'string';
