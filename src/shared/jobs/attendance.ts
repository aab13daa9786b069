import { z } from 'zod';

/** Camera batches: a flow parent per batch and one child per frame, like enrollment. */
export const ATTENDANCE_BATCH_JOB = 'attendance-batch' as const;
export const ATTENDANCE_FRAME_JOB = 'attendance-frame' as const;

export const AttendanceFrameData = z.object({
  job_id: z.string(),
  index: z.number().int().nonnegative(),
  camera_id: z.string(),
  /** ISO-8601 UTC, normalised by the API so records compare as strings. */
  captured_at: z.string(),
  group: z.string().nullable(),
  photo: z.string(),
  /** The caller's per-comparison threshold; null = the open-set threshold for the gallery. */
  threshold: z.number().nonnegative().nullable(),
  window_ms: z.number().int().nonnegative(),
});
export type AttendanceFrameData = z.infer<typeof AttendanceFrameData>;
