import type { PackFactory } from '../seams.js';
import { ultrafaceIbug68 } from './ultraface-ibug68/index.js';

/** The code of each pack a manifest may name in `pack` (one folder each, beside this file). */
export const PACKS: Readonly<Record<string, PackFactory>> = {
  'ultraface-ibug68': ultrafaceIbug68,
};
