import { evidenceStatus } from '../../evidence.js';
import type { BestSighting } from '../rules/attendance-window.js';
import type { AttendanceRecord, BatchJob, GalleryEntry, ItemResult } from '../types.js';

export interface UserRow {
  user_id: string;
  name: string;
  grp: string | null;
  metadata: string;
  enrolled_at: string;
  updated_at: string;
}
export interface TemplateRow {
  template_id: string;
  user_id: string;
  model: string;
  embedding: Buffer;
  detection_score: number;
  quality: string;
  photo_sha256: string;
  created_at: string;
}
export type JobRow = BatchJob;
export interface ItemRow {
  job_id: string;
  idx: number;
  ref: string | null;
  outcome: string;
  ok: number;
  detail: string;
  finished_at: string;
}

export interface AttendanceRow {
  attendance_id: string;
  kind: 'match' | 'unknown';
  user_id: string | null;
  name: string | null;
  grp: string | null;
  camera_id: string;
  timestamp: string;
  last_seen: string;
  sightings: number;
  similarity_score: number | null;
  distance: number | null;
  bbox: string;
  thumbnail: string | null;
  embedding: Buffer | null;
  job_id: string;
  confirming_sightings: number;
  strong_sightings: number;
  /** Null only in a row from before the column that migrate() has not filled. */
  window_closes_at: string | null;
  margin: number | null;
  threshold: number | null;
  confirm_threshold: number | null;
  strong_threshold: number | null;
  unknown_id: string | null;
  recorded_at: string | null;
}

export function toItem(r: ItemRow): ItemResult {
  return {
    job_id: r.job_id,
    index: r.idx,
    ref: r.ref,
    outcome: r.outcome,
    ok: r.ok === 1,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    finished_at: r.finished_at,
  };
}

/** A row as the API shows it, its status judged at `now`. */
/** The best sighting's columns of a row, for the API view and the window rule's state. */
export type BestRow = Pick<
  AttendanceRow,
  | 'similarity_score'
  | 'distance'
  | 'margin'
  | 'threshold'
  | 'confirm_threshold'
  | 'strong_threshold'
  | 'bbox'
  | 'thumbnail'
>;

export const bestOf = (r: BestRow): BestSighting => ({
  similarity_score: r.similarity_score,
  distance: r.distance,
  margin: r.margin,
  threshold: r.threshold,
  confirm_threshold: r.confirm_threshold,
  strong_threshold: r.strong_threshold,
  bbox: JSON.parse(r.bbox) as AttendanceRecord['bbox'],
  thumbnail: r.thumbnail,
});

export function toAttendance(r: AttendanceRow, now: string): AttendanceRecord {
  const evidence = {
    kind: r.kind,
    confirming_sightings: r.confirming_sightings,
    strong_sightings: r.strong_sightings,
    window_closes_at: r.window_closes_at ?? r.last_seen,
  };
  return {
    attendance_id: r.attendance_id,
    kind: r.kind,
    user_id: r.user_id,
    name: r.name,
    group: r.grp,
    camera_id: r.camera_id,
    timestamp: r.timestamp,
    last_seen: r.last_seen,
    sightings: r.sightings,
    status: evidenceStatus(evidence, now),
    confirming_sightings: r.confirming_sightings,
    strong_sightings: r.strong_sightings,
    window_closes_at: evidence.window_closes_at,
    ...bestOf(r),
    embedding: r.embedding ? Array.from(fromBlob(r.embedding)) : null,
    job_id: r.job_id,
    unknown_id: r.unknown_id,
  };
}

export interface GalleryRow {
  template_id: string;
  model: string;
  embedding: Buffer;
  user_id: string;
  name: string;
  grp: string | null;
}

export function toGalleryEntry(r: GalleryRow): GalleryEntry {
  return {
    user_id: r.user_id,
    name: r.name,
    group: r.grp,
    template_id: r.template_id,
    model: r.model,
    embedding: fromBlob(r.embedding),
  };
}

export const now = () => new Date().toISOString();
export { isoTime } from '../iso-time.js';
export const toBlob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
export const fromBlob = (b: Buffer) =>
  new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
