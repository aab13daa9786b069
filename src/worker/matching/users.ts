import { encodeString, grown, nextCapacity, Strings } from './strings.js';

/** FNV-1a over the arena bytes of an id. */
function hash(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h >>> 0;
}

export interface UsersState {
  ids: Strings;
  names: Strings;
  segment: Uint32Array;
  first: Int32Array;
  table: Int32Array;
  rows: number;
  count: number;
  free: number[];
}

/**
 * The users the index knows, by a numeric handle: id and name in two string arenas, the
 * segment (group) the user's templates are in and the first of them (the rest are linked from
 * the segment's `next`). user_id -> handle is an open-addressing table of handles (linear
 * probing, at most 3/4 full) hashed from the arena bytes: 5-11 bytes per user instead of a Map.
 */
export class Users {
  ids: Strings;
  names: Strings;
  segment: Uint32Array;
  first: Int32Array;
  /** Handle + 1 per bucket, 0 = empty. */
  table: Int32Array;
  /** Handles allocated so far (live or free). */
  rows: number;
  count: number;
  private readonly freed: number[];

  constructor(state?: UsersState) {
    this.ids = state?.ids ?? new Strings();
    this.names = state?.names ?? new Strings();
    this.segment = state?.segment ?? new Uint32Array(1024);
    this.first = state?.first ?? new Int32Array(1024).fill(-1);
    this.table = state?.table ?? new Int32Array(2048);
    this.rows = state?.rows ?? 0;
    this.count = state?.count ?? 0;
    this.freed = state?.free ?? [];
  }

  get state(): UsersState {
    const { ids, names, segment, first, table, rows, count } = this;
    return { ids, names, segment, first, table, rows, count, free: [...this.freed] };
  }

  get bytes(): number {
    return (
      this.ids.bytes +
      this.names.bytes +
      this.segment.byteLength +
      this.first.byteLength +
      this.table.byteLength
    );
  }

  find(userId: string): number {
    const b = encodeString(userId);
    const mask = this.table.length - 1;
    for (let i = hash(b) & mask; ; i = (i + 1) & mask) {
      const h = this.table[i] as number;
      if (h === 0) return -1;
      if (this.ids.equals(h - 1, b)) return h - 1;
    }
  }

  /** The user's handle, created (with no templates) if new; name and segment updated. */
  upsert(userId: string, name: string, segment: number): number {
    let u = this.find(userId);
    if (u < 0) {
      u = this.freed.pop() ?? this.rows++;
      if (u >= this.segment.length) this.reserve(nextCapacity(this.segment.length));
      this.ids.set(u, userId, this.rows);
      this.first[u] = -1;
      this.count++;
      if (this.count * 4 > this.table.length * 3) this.rehash(this.table.length * 2);
      this.insert(u);
      this.names.set(u, name, this.rows);
    } else if (!this.names.equals(u, encodeString(name))) this.names.set(u, name, this.rows);
    this.segment[u] = segment;
    return u;
  }

  /** Forgets a user that has no templates left. */
  remove(u: number): void {
    const mask = this.table.length - 1;
    let i = hash(this.ids.view(u)) & mask;
    while ((this.table[i] as number) !== u + 1) i = (i + 1) & mask;
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const h = this.table[j] as number;
      if (h === 0) break;
      const home = hash(this.ids.view(h - 1)) & mask;
      if (
        (j - home + this.table.length) % this.table.length >=
        (j - i + this.table.length) % this.table.length
      ) {
        this.table[i] = h;
        i = j;
      }
    }
    this.table[i] = 0;
    this.ids.free(u);
    this.names.free(u);
    this.first[u] = -1;
    this.freed.push(u);
    this.count--;
  }

  reserve(rows: number): void {
    if (rows <= this.segment.length) return;
    this.ids.reserve(rows);
    this.names.reserve(rows);
    this.segment = grown(this.segment, rows);
    const first = new Int32Array(rows).fill(-1);
    first.set(this.first);
    this.first = first;
    let size = this.table.length;
    while (rows * 4 > size * 3) size *= 2;
    if (size > this.table.length) this.rehash(size);
  }

  private insert(u: number): void {
    const mask = this.table.length - 1;
    let i = hash(this.ids.view(u)) & mask;
    while ((this.table[i] as number) !== 0) i = (i + 1) & mask;
    this.table[i] = u + 1;
  }

  private rehash(size: number): void {
    const old = this.table;
    this.table = new Int32Array(size);
    for (const h of old) if (h !== 0) this.insert(h - 1);
  }
}
