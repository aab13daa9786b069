import { loadManifest } from '../../src/shared/model-manifest.js';
import { thresholdTable } from '../../src/shared/thresholds.js';
import { modelsDir } from './faces.js';

/** The shipped pack's manifest and its published thresholds, as the service reads them. */
export const MANIFEST = loadManifest(modelsDir);
export const THRESHOLDS = thresholdTable(MANIFEST.thresholds.cosine);
