import { encodeError, ServiceError } from '../../shared/errors.js';
import type { CompareResponse } from '../../shared/schemas.js';
import { compareBody, type ComparePack } from './compare.js';

export interface CompareTask {
  bytes: Uint8Array;
  maxReferences: number;
  pack: ComparePack;
}

/** Errors cross the thread boundary as their encoded form (structured clone drops the class). */
export type CompareOutcome = { ok: true; body: CompareResponse } | { ok: false; error: string };

/** Piscina entry point: one /compare, parse to answer, on a pool thread. */
export default function compareTask(task: CompareTask): CompareOutcome {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  try {
    return { ok: true, body: compareBody(bytes, task.maxReferences, task.pack) };
  } catch (err) {
    const known = err instanceof ServiceError ? err : new ServiceError('INTERNAL_ERROR', 'compare failed');
    return { ok: false, error: encodeError(known) };
  }
}
