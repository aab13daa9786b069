import type { UnknownsGroupData, UnknownsGroupResult } from '../../shared/jobs/index.js';
import { expireUnknowns, groupUnknowns } from '../../shared/unknowns.js';
import type { ProcessorDeps } from './types.js';

/**
 * One attendance batch's unknown faces grouped into unknown persons, then the retention sweep.
 * Runs one at a time across every worker (its queue's global concurrency is 1), which is what
 * makes the grouping deterministic (src/shared/unknowns.ts). A retry regroups nothing already
 * grouped; a sweep repeated deletes nothing twice.
 */
export async function processUnknownsGroup(
  data: UnknownsGroupData,
  deps: ProcessorDeps,
): Promise<UnknownsGroupResult> {
  const grouping = await groupUnknowns(deps, data.job_id);
  const expired = await expireUnknowns(deps);
  if (grouping.grouped > 0 || expired.records > 0)
    deps.logger.debug({ job: data.job_id, ...grouping, expired }, 'unknown faces grouped');
  return { ...grouping, expired };
}
