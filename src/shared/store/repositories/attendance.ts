import type { AttendanceQuery, AttendanceRecord, Page, Sighting } from '../types.js';

/** Attendance records: sightings de-duplicated into records, read back and erased. */
export interface AttendanceRepository {
  /**
   * Records a sighting with de-duplication: sightings of one user by one camera whose times
   * are within `windowMs` of each other (chained) form one attendance record, whatever order
   * they arrive in. Atomic; recording the same sighting_id again changes nothing. The record
   * keeps the evidence counters (sightings, strong_sightings, window_closes_at) its status is
   * derived from when read (src/shared/evidence.ts), and the best sighting's margin and
   * thresholds. The rule is written once, in ../rules/attendance-window.ts.
   */
  recordSighting(sighting: Sighting, windowMs: number): Promise<{ attendance_id: string }>;
  /** In (timestamp, attendance_id) order, after `cursor`. */
  listAttendance(query: AttendanceQuery): Promise<Page<AttendanceRecord>>;
  /**
   * The match records holding a sighting of batch `jobId`, statuses judged at `now` (default
   * the current time), in (timestamp, attendance_id) order: a batch's webhook summary.
   */
  attendanceOfJob(jobId: string, now?: string): Promise<AttendanceRecord[]>;
  /**
   * Erasure: detaches the face-crop photos from a user's attendance records (the records, a
   * business log, stay) and returns their blob keys for deletion.
   */
  eraseAttendancePhotos(userId: string): Promise<string[]>;
  getAttendance(attendanceId: string): Promise<AttendanceRecord | undefined>;
  /**
   * Deletes these records and their sightings (retention of unknown faces); returns the blob
   * keys of every face crop they held, the best one and every other sighting's.
   */
  deleteAttendance(attendanceIds: string[]): Promise<string[]>;
}
