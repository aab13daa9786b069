/**
 * Many short strings in one byte arena instead of one JS string each (a JS string plus its Map
 * entry costs ~80 bytes; 10M template ids would be 800 MB). Row r's string is
 * arena[offset[r], offset[r] + length[r]). UUIDs (store template ids) are kept as 16 bytes
 * behind a 0xff marker (no UTF-8 string starts with 0xff), other strings as UTF-8. Replaced or
 * freed strings leave garbage that is compacted once it is half the arena.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID_MARK = 0xff;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const scratch = new Uint8Array(4 * 1024);

/** The arena bytes for `s` (a view of a shared scratch buffer: copy before the next call). */
export function encodeString(s: string): Uint8Array {
  if (s.length === 36 && UUID.test(s)) {
    scratch[0] = UUID_MARK;
    const hex = s.replaceAll('-', '');
    for (let i = 0; i < 16; i++) scratch[1 + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return scratch.subarray(0, 17);
  }
  const { written } = encoder.encodeInto(s, scratch);
  if (written === undefined || written >= scratch.length)
    throw new RangeError('string too long for the index');
  return scratch.subarray(0, written);
}

export function decodeString(b: Uint8Array): string {
  if (b.length === 17 && b[0] === UUID_MARK) {
    let hex = '';
    for (let i = 1; i < 17; i++) hex += (b[i] as number).toString(16).padStart(2, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return decoder.decode(b);
}

export interface StringsState {
  arena: Uint8Array;
  offset: Uint32Array;
  length: Uint16Array;
  used: number;
}

export class Strings {
  arena: Uint8Array;
  offset: Uint32Array;
  length: Uint16Array;
  /** Arena bytes written so far (live + garbage). */
  used: number;
  private garbage = 0;

  constructor(rows = 1024, state?: StringsState) {
    this.arena = state?.arena ?? new Uint8Array(rows * 16);
    this.offset = state?.offset ?? new Uint32Array(rows);
    this.length = state?.length ?? new Uint16Array(rows);
    this.used = state?.used ?? 0;
  }

  get bytes(): number {
    return this.arena.byteLength + this.offset.byteLength + this.length.byteLength;
  }

  /** Room for rows [0, rows). */
  reserve(rows: number): void {
    if (rows <= this.offset.length) return;
    const n = Math.max(rows, nextCapacity(this.offset.length));
    this.offset = grown(this.offset, n);
    this.length = grown(this.length, n);
  }

  /** `rows` bounds the rows in use (compaction walks [0, rows)). */
  set(row: number, s: string, rows: number): void {
    this.free(row);
    const b = encodeString(s);
    if (this.used + b.length > this.arena.length) this.makeRoom(b.length, rows);
    this.arena.set(b, this.used);
    this.offset[row] = this.used;
    this.length[row] = b.length;
    this.used += b.length;
  }

  get(row: number): string {
    return decodeString(this.view(row));
  }

  view(row: number): Uint8Array {
    const o = this.offset[row] as number;
    return this.arena.subarray(o, o + (this.length[row] as number));
  }

  equals(row: number, b: Uint8Array): boolean {
    const n = this.length[row] as number;
    if (n !== b.length) return false;
    const o = this.offset[row] as number;
    for (let i = 0; i < n; i++) if (this.arena[o + i] !== b[i]) return false;
    return true;
  }

  free(row: number): void {
    this.garbage += this.length[row] as number;
    this.length[row] = 0;
  }

  move(from: number, to: number): void {
    this.offset[to] = this.offset[from] as number;
    this.length[to] = this.length[from] as number;
    this.length[from] = 0;
  }

  /** Compacts when garbage is at least half of what is used, else grows the arena. */
  private makeRoom(need: number, rows: number): void {
    if (this.garbage * 2 >= this.used) {
      const next = new Uint8Array(Math.max(this.arena.length, nextCapacity(this.used - this.garbage + need)));
      let at = 0;
      for (let r = 0; r < rows; r++) {
        const n = this.length[r] as number;
        if (n === 0) continue;
        next.set(this.view(r), at);
        this.offset[r] = at;
        at += n;
      }
      this.arena = next;
      this.used = at;
      this.garbage = 0;
    }
    if (this.used + need > this.arena.length) {
      this.arena = grown(this.arena, nextCapacity(this.used + need));
    }
  }
}

/**
 * Capacity after `n`: +1/8 (and at least 1024). At 10M templates the codes alone are 640 MB, so
 * doubling would leave up to 640 MB unused; +12.5 % keeps the slack small at the price of more
 * (amortised, still linear) copying while a gallery grows.
 */
export const nextCapacity = (n: number) => n + Math.max(1024, Math.ceil(n / 8));

type Typed = Uint8Array | Int8Array | Uint16Array | Uint32Array | Int32Array;

/** A copy of `a` with room for `n` elements. */
export function grown<T extends Typed>(a: T, n: number): T {
  const Ctor = a.constructor as new (n: number) => T;
  const next = new Ctor(n);
  next.set(a.subarray(0, Math.min(a.length, n)));
  return next;
}
