import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import type { GalleryIndexState } from './gallery-index.js';
import { codeBytes } from './quantize.js';
import { codeHeadBytes } from './segment.js';
import { Strings } from './strings.js';

/**
 * A GalleryIndex on local disk, so a restarted worker answers after reading one file (1M
 * templates with int8: ~600 MB, measured by bench:gallery-startup) instead of re-reading the
 * store. Layout: "SHELIAGI", a JSON header (format, model, dim, int8, the change stream's key
 * and the last entry id the index includes, array lengths), the index's typed arrays one after
 * another at 8-byte offsets, then a CRC-32 of everything before it. Written to a temporary file
 * and renamed, so a reader sees an old snapshot or a whole new one, never half of one.
 */
const MAGIC = 'SHELIAGI';
/** 2: the sign codes as two planes (head, tail: segment.ts); a format-1 file is refused. */
export const SNAPSHOT_FORMAT = 2;

export interface SnapshotIdentity {
  model: string;
  dim: number;
  int8: boolean;
  /** The Redis stream of gallery changes the snapshot follows (its key names the deployment). */
  streamKey: string;
}

interface Header extends SnapshotIdentity {
  format: number;
  streamId: string;
  templates: number;
  segments: { group: string | null; size: number; arena: number }[];
  users: { rows: number; count: number; free: number[]; ids: number; names: number; table: number };
}

type Typed = Uint8Array | Int8Array | Uint16Array | Uint32Array | Int32Array;

function sections(state: GalleryIndexState): Typed[] {
  const out: Typed[] = [];
  for (const s of state.segments) {
    const hb = s.head.length / Math.max(1, s.user.length);
    const tb = s.tail.length / Math.max(1, s.user.length);
    out.push(s.head.subarray(0, s.size * hb), s.tail.subarray(0, s.size * tb));
    if (s.int8) out.push(s.int8.subarray(0, s.size * state.dim));
    out.push(s.templateIds.arena.subarray(0, s.templateIds.used));
    out.push(s.templateIds.offset.subarray(0, s.size), s.templateIds.length.subarray(0, s.size));
    out.push(s.user.subarray(0, s.size), s.next.subarray(0, s.size));
  }
  const u = state.users;
  for (const t of [u.ids, u.names]) {
    out.push(t.arena.subarray(0, t.used), t.offset.subarray(0, u.rows), t.length.subarray(0, u.rows));
  }
  out.push(u.segment.subarray(0, u.rows), u.first.subarray(0, u.rows), u.table);
  return out;
}

const bytesOf = (a: Typed) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const pad8 = (n: number) => (8 - (n % 8)) % 8;

/**
 * Writes the snapshot atomically (temp file + fsync + rename); resolves to its size in bytes.
 * Asynchronous (1M with int8 took 11.7 s to write and fsync on a busy machine: the event loop
 * must not wait for that): the caller keeps `state` unchanged until it resolves.
 */
export async function writeSnapshot(
  path: string,
  identity: SnapshotIdentity,
  streamId: string,
  state: GalleryIndexState,
): Promise<number> {
  const header: Header = {
    ...identity,
    format: SNAPSHOT_FORMAT,
    streamId,
    templates: state.segments.reduce((n, s) => n + s.size, 0),
    segments: state.segments.map((s) => ({ group: s.group, size: s.size, arena: s.templateIds.used })),
    users: {
      rows: state.users.rows,
      count: state.users.count,
      free: state.users.free,
      ids: state.users.ids.used,
      names: state.users.names.used,
      table: state.users.table.length,
    },
  };
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const file = await open(tmp, 'w');
  let crc = 0;
  let size = 0;
  const put = async (b: Uint8Array) => {
    // 64 MB at a time: one write call per section could exceed what a single write() takes.
    for (let at = 0; at < b.length;) {
      const { bytesWritten } = await file.write(b, at, Math.min(b.length - at, 64 << 20));
      at += bytesWritten;
    }
    crc = crc32(b, crc);
    size += b.length;
  };
  try {
    const json = Buffer.from(JSON.stringify(header));
    const head = Buffer.alloc(12);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(json.length, 8);
    await put(head);
    await put(json);
    await put(new Uint8Array(pad8(size)));
    for (const s of sections(state)) {
      await put(bytesOf(s));
      await put(new Uint8Array(pad8(size)));
    }
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(crc >>> 0, 0);
    await file.write(tail);
    await file.sync();
    await file.close();
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await rename(tmp, path);
  return size + 4;
}

export type SnapshotRead =
  { ok: true; streamId: string; templates: number; state: GalleryIndexState } | { ok: false; reason: string };

/** Reads a snapshot made for `want`; anything else (missing, other model, corrupt) is a reason. */
export function readSnapshot(path: string, want: SnapshotIdentity): SnapshotRead {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { ok: false, reason: 'no snapshot' };
  }
  try {
    const fileSize = statSync(path).size;
    let pos = 0;
    let crc = 0;
    const take = <T extends Typed>(a: T): T => {
      const b = bytesOf(a);
      for (let at = 0; at < b.length;) {
        const n = readSync(fd, b, at, b.length - at, pos + at);
        if (n === 0) throw new Error('truncated');
        at += n;
      }
      pos += b.length;
      crc = crc32(b, crc);
      return a;
    };
    const skipPad = () => {
      const p = pad8(pos);
      if (p) take(new Uint8Array(p));
    };
    const head = take(new Uint8Array(12));
    if (Buffer.from(head.subarray(0, 8)).toString('latin1') !== MAGIC)
      return { ok: false, reason: 'not a snapshot' };
    const jsonLength = Buffer.from(head).readUInt32LE(8);
    if (jsonLength > fileSize) return { ok: false, reason: 'truncated' };
    const header = JSON.parse(Buffer.from(take(new Uint8Array(jsonLength))).toString('utf8')) as Header;
    skipPad();
    if (header.format !== SNAPSHOT_FORMAT) return { ok: false, reason: `format ${header.format}` };
    for (const k of ['model', 'dim', 'int8', 'streamKey'] as const) {
      if (header[k] !== want[k])
        return { ok: false, reason: `${k} ${String(header[k])} is not ${String(want[k])}` };
    }
    const dim = header.dim;
    const hb = codeHeadBytes(dim);
    const tb = codeBytes(dim) - hb;
    const seg = <T extends Typed>(a: T): T => {
      take(a);
      skipPad();
      return a;
    };
    const segments = header.segments.map((s) => {
      const head = seg(new Uint8Array(s.size * hb));
      const tail = seg(new Uint8Array(s.size * tb));
      const int8 = header.int8 ? seg(new Int8Array(s.size * dim)) : null;
      const arena = seg(new Uint8Array(s.arena));
      const offset = seg(new Uint32Array(s.size));
      const length = seg(new Uint16Array(s.size));
      const user = seg(new Uint32Array(s.size));
      const next = seg(new Int32Array(s.size));
      return {
        group: s.group,
        size: s.size,
        head,
        tail,
        int8,
        templateIds: new Strings(0, { arena, offset, length, used: s.arena }),
        user,
        next,
      };
    });
    const h = header.users;
    const strings = (used: number) =>
      new Strings(0, {
        arena: seg(new Uint8Array(used)),
        offset: seg(new Uint32Array(h.rows)),
        length: seg(new Uint16Array(h.rows)),
        used,
      });
    const ids = strings(h.ids);
    const names = strings(h.names);
    const users = {
      ids,
      names,
      segment: seg(new Uint32Array(h.rows)),
      first: seg(new Int32Array(h.rows)),
      table: seg(new Int32Array(h.table)),
      rows: h.rows,
      count: h.count,
      free: h.free,
    };
    const tail = new Uint8Array(4);
    if (readSync(fd, tail, 0, 4, pos) !== 4) return { ok: false, reason: 'truncated' };
    if (Buffer.from(tail).readUInt32LE(0) !== crc >>> 0) return { ok: false, reason: 'checksum mismatch' };
    if (pos + 4 !== fileSize) return { ok: false, reason: 'trailing bytes' };
    return {
      ok: true,
      streamId: header.streamId,
      templates: header.templates,
      state: { dim, int8: header.int8, segments, users },
    };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  } finally {
    closeSync(fd);
  }
}
