import { z } from 'zod';

/**
 * Re-embed: after a change of model pack, recompute with the active pack the templates an
 * enrollment batch made, from its photos. Only photos are kept, and only with KEEP_PHOTOS=true
 * (the batch's `photos: kept`); aligned crops of templates are never stored. A batch whose
 * photos were deleted cannot be re-embedded: those people must be enrolled again.
 * Queued by `npm run reembed -- --batch <job_id>` (src/worker/reembed-cli.ts).
 */
export const REEMBED_JOB = 'reembed-batch' as const;

export const ReembedData = z.object({ job_id: z.string().min(1) });
export type ReembedData = z.infer<typeof ReembedData>;

export interface ReembedResult {
  job_id: string;
  /** The active pack's embedding model id: what every re-embedded template now carries. */
  model: string;
  /** People of the batch whose templates were looked at (enrolled, not erased since). */
  users: number;
  /** Templates recomputed with the active pack. */
  reembedded: number;
  /** Templates already of the active model (left alone). */
  current: number;
  /** Kept photos with no template of their user any more (replaced, refused when enrolled). */
  no_template: number;
  /** Photos in which the active pack found no face: their templates stay of the old model, never compared. */
  no_face: number;
}
