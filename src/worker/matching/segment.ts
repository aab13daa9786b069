import { grown, nextCapacity, Strings } from './strings.js';
import { codeBytes, quantize, signCode } from './quantize.js';

export interface SegmentState {
  group: string | null;
  size: number;
  codes: Uint8Array;
  int8: Int8Array | null;
  templateIds: Strings;
  user: Uint32Array;
  next: Int32Array;
}

/**
 * The templates of one group, dense in slots 0..size-1: a 64-byte sign code each (the
 * prefilter the native Hamming scan reads), optionally its int8 copy (the resident re-rank;
 * 512 more bytes), its template id, the user's handle and the next template of the same user
 * (-1 = last). Removal moves the last slot into the hole, so every array stays dense.
 */
export class Segment {
  size: number;
  codes: Uint8Array;
  int8: Int8Array | null;
  templateIds: Strings;
  user: Uint32Array;
  next: Int32Array;
  readonly codeBytes: number;

  constructor(
    readonly group: string | null,
    readonly dim: number,
    withInt8: boolean,
    /** 127 / the pack's int8_range. */
    private readonly int8Scale: number,
    state?: SegmentState,
  ) {
    this.codeBytes = codeBytes(dim);
    const rows = 1024;
    this.size = state?.size ?? 0;
    this.codes = state?.codes ?? new Uint8Array(rows * this.codeBytes);
    this.int8 = state ? state.int8 : withInt8 ? new Int8Array(rows * dim) : null;
    this.templateIds = state?.templateIds ?? new Strings(rows);
    this.user = state?.user ?? new Uint32Array(rows);
    this.next = state?.next ?? new Int32Array(rows);
  }

  get state(): SegmentState {
    const { group, size, codes, int8, templateIds, user, next } = this;
    return { group, size, codes, int8, templateIds, user, next };
  }

  get bytes(): number {
    return (
      this.codes.byteLength +
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
    signCode(embedding, this.codes, slot * this.codeBytes);
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
    const cb = this.codeBytes;
    this.codes.copyWithin(slot * cb, last * cb, (last + 1) * cb);
    this.int8?.copyWithin(slot * this.dim, last * this.dim, (last + 1) * this.dim);
    this.templateIds.move(last, slot);
    this.user[slot] = this.user[last] as number;
    this.next[slot] = this.next[last] as number;
    return last;
  }

  reserve(rows: number): void {
    if (rows <= this.user.length) return;
    this.codes = grown(this.codes, rows * this.codeBytes);
    if (this.int8) this.int8 = grown(this.int8, rows * this.dim);
    this.templateIds.reserve(rows);
    this.user = grown(this.user, rows);
    this.next = grown(this.next, rows);
  }
}
