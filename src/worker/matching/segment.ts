import { grown, nextCapacity, Strings } from './strings.js';
import { kernels } from './native-codes.js';
import { codeBytes, quantize, signCode } from './quantize.js';

export interface SegmentState {
  group: string | null;
  size: number;
  /** The first codeHeadBytes(dim) of every row's sign code, then the rest: two planes. */
  head: Uint8Array;
  tail: Uint8Array;
  int8: Int8Array | null;
  templateIds: Strings;
  user: Uint32Array;
  next: Int32Array;
}

/**
 * Bytes of the head plane of a `dim`-bit sign code: its first half, in whole 64-bit words (32
 * of the 64 at 512-d). The first Hamming stage streams only this plane (half the memory
 * traffic of the whole codes); the tail is read for the rows that stage keeps.
 */
export const codeHeadBytes = (dim: number) => Math.ceil(codeBytes(dim) / 16) * 8;

/**
 * The templates of one group, dense in slots 0..size-1: a 64-byte sign code each, stored as
 * two 32-byte planes (`head`, the first half of every code, which the first Hamming stage
 * streams; `tail`, the second half, read for that stage's survivors), optionally its int8 copy (the resident re-rank;
 * 512 more bytes), its template id, the user's handle and the next template of the same user
 * (-1 = last). Removal moves the last slot into the hole, so every array stays dense.
 */
export class Segment {
  size: number;
  head: Uint8Array;
  tail: Uint8Array;
  int8: Int8Array | null;
  templateIds: Strings;
  user: Uint32Array;
  next: Int32Array;
  readonly codeBytes: number;
  readonly headBytes: number;
  readonly tailBytes: number;
  /** One row's whole code, split into the planes by push. */
  private readonly code: Uint8Array;

  constructor(
    readonly group: string | null,
    readonly dim: number,
    withInt8: boolean,
    /** 127 / the pack's int8_range. */
    private readonly int8Scale: number,
    state?: SegmentState,
  ) {
    this.codeBytes = codeBytes(dim);
    this.headBytes = codeHeadBytes(dim);
    this.tailBytes = this.codeBytes - this.headBytes;
    this.code = new Uint8Array(this.codeBytes);
    const rows = 1024;
    this.size = state?.size ?? 0;
    this.head = state?.head ?? new Uint8Array(rows * this.headBytes);
    this.tail = state?.tail ?? new Uint8Array(rows * this.tailBytes);
    this.int8 = state ? state.int8 : withInt8 ? new Int8Array(rows * dim) : null;
    this.templateIds = state?.templateIds ?? new Strings(rows);
    this.user = state?.user ?? new Uint32Array(rows);
    this.next = state?.next ?? new Int32Array(rows);
    // Restored arrays are already written: khugepaged may still collapse them later.
    for (const a of [this.head, this.tail, this.int8]) if (a) kernels.adviseHugePages(a);
  }

  get state(): SegmentState {
    const { group, size, head, tail, int8, templateIds, user, next } = this;
    return { group, size, head, tail, int8, templateIds, user, next };
  }

  get bytes(): number {
    return (
      this.head.byteLength +
      this.tail.byteLength +
      (this.int8?.byteLength ?? 0) +
      this.templateIds.bytes +
      this.user.byteLength +
      this.next.byteLength
    );
  }

  /** Appends a template; returns its slot. */
  push(templateId: string, user: number, next: number, embedding: ArrayLike<number>): number {
    const slot = this.size;
    if (slot >= this.user.length) this.reserve(nextCapacity(this.user.length));
    signCode(embedding, this.code);
    this.head.set(this.code.subarray(0, this.headBytes), slot * this.headBytes);
    this.tail.set(this.code.subarray(this.headBytes), slot * this.tailBytes);
    if (this.int8) quantize(embedding, this.int8, slot * this.dim, this.int8Scale);
    this.templateIds.set(slot, templateId, slot + 1);
    this.user[slot] = user;
    this.next[slot] = next;
    this.size++;
    return slot;
  }

  /**
   * Moves the last slot into `slot` (which must already be unlinked from its user's list);
   * returns the slot that moved (to re-link: it is now at `slot`), or -1.
   */
  removeAt(slot: number): number {
    const last = this.size - 1;
    this.templateIds.free(slot);
    this.size--;
    if (slot === last) return -1;
    const hb = this.headBytes;
    const tb = this.tailBytes;
    this.head.copyWithin(slot * hb, last * hb, (last + 1) * hb);
    this.tail.copyWithin(slot * tb, last * tb, (last + 1) * tb);
    this.int8?.copyWithin(slot * this.dim, last * this.dim, (last + 1) * this.dim);
    this.templateIds.move(last, slot);
    this.user[slot] = this.user[last] as number;
    this.next[slot] = this.next[last] as number;
    return last;
  }

  reserve(rows: number): void {
    if (rows <= this.user.length) return;
    this.head = hugeGrown(this.head, rows * this.headBytes);
    this.tail = hugeGrown(this.tail, rows * this.tailBytes);
    if (this.int8) this.int8 = hugeGrown(this.int8, rows * this.dim);
    this.templateIds.reserve(rows);
    this.user = grown(this.user, rows);
    this.next = grown(this.next, rows);
  }
}

/** grown() for the arrays read at random rows: 2 MB pages asked for before the copy writes them. */
function hugeGrown<T extends Uint8Array | Int8Array>(a: T, n: number): T {
  const Ctor = a.constructor as new (n: number) => T;
  const next = new Ctor(n);
  kernels.adviseHugePages(next);
  next.set(a.subarray(0, Math.min(a.length, n)));
  return next;
}
