import type { EnrollItemsData, ItemJobResult } from '../../shared/jobs/index.js';
import type { ItemRun } from '../batch-item.js';
import { processEnrollItem } from './enroll-item.js';
import type { ProcessorDeps } from './types.js';

/**
 * Several people of an enrollment batch in one queue job: each is processed as its own item
 * (processEnrollItem: outcome, photos, erasure), all at once, so the pool stays busy. A fault
 * of one (the store, the pool) fails the job after the others have finished: BullMQ retries it,
 * and the people whose outcomes were recorded are not run again (runItem on a restarted job).
 */
export async function processEnrollItems(
  data: EnrollItemsData,
  deps: ProcessorDeps,
  job?: ItemRun,
): Promise<ItemJobResult> {
  const settled = await Promise.allSettled(data.people.map((p) => processEnrollItem(p, deps, job)));
  const results: ItemJobResult[] = [];
  for (const s of settled) {
    if (s.status === 'rejected') throw s.reason;
    results.push(s.value);
  }
  const refused = results.filter((r) => !r.ok).length;
  // ok: false only when every person was refused (the jobs metric's `refused`, as for one person).
  return { outcome: `${results.length - refused} of ${results.length} ok`, ok: refused < results.length };
}
