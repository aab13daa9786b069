/**
 * Today's pack: UltraFace RFB-320 detector, 68-point iBUG landmarks reduced to 5 points with a
 * similarity alignment onto the ArcFace 112x112 template, and a MobileFaceNet-style 512-d
 * embedder (faceplugin-face-recognition-js@0.0.1). Every number it runs with is in
 * models/manifest.json; this folder is the code that reads them.
 */
import { OnnxEmbedder } from '../../embedder.js';
import type { PackFactory } from '../../seams.js';
import { UltraFaceDetector } from './detector.js';
import { Ibug68Aligner } from './landmarks.js';

export const ultrafaceIbug68: PackFactory = (manifest, sessions) => {
  const feature = manifest.models.feature;
  return {
    manifest,
    detector: new UltraFaceDetector(sessions.detect, manifest),
    aligner: new Ibug68Aligner(sessions.landmark, manifest),
    embedder: new OnnxEmbedder(
      sessions.feature,
      feature.input,
      Object.keys(feature.outputs)[0] as string,
      manifest.embedding_dim,
    ),
  };
};
