import type { EmbedItemData, ItemJobResult } from '../../shared/jobs/index.js';
import { readPhoto, runItem, type ItemRun } from '../batch-item.js';
import { embedOne } from './embed-one.js';
import type { ProcessorDeps } from './types.js';

/** One photo of a batch embed job: the same result /api/v1/embed gives, kept in the store. */
export async function processEmbedItem(
  data: EmbedItemData,
  deps: ProcessorDeps,
  job?: ItemRun,
): Promise<ItemJobResult> {
  return runItem(
    deps,
    { ...data, photos: [data.photo] },
    async () => ({
      outcome: 'EMBEDDED',
      ok: true,
      detail: await embedOne(await readPhoto(deps, data.photo), data.face, deps),
    }),
    job,
  );
}
