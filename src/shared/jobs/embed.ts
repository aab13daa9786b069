import { z } from 'zod';
import { FacePolicy, type EmbedResponse } from '../schemas.js';

/** Sync embed: a photo for POST /api/v1/embed. High priority; the HTTP request waits for it. */
export const EMBED_JOB = 'embed' as const;

export const EmbedJobData = z.object({
  /** Base64 photo, already checked strictly by the API. Cleared from Redis once the job ends. */
  image: z.string(),
  face: FacePolicy,
});
export type EmbedJobData = z.infer<typeof EmbedJobData>;

export type EmbedJobResult = EmbedResponse;
