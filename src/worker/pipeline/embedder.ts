import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { l2Normalize } from '../../shared/face-math.js';
import type { ModelInputSpec } from '../../shared/model-manifest.js';
import type { AlignedFace, Embedder } from './seams.js';

/**
 * The aligned crop as the embedder's input tensor, planar, in the manifest's colour order and
 * normalisation: value = (p - mean) / std. For fr_feature that is BGR, (p - 127) / 128; RGB
 * costs 0.2 points of LFW accuracy (MODEL-NOTES.md).
 */
export function embedderInput(face: AlignedFace, spec: ModelInputSpec): Float32Array {
  const plane = face.size * face.size;
  const { rgb } = face;
  const { mean, std } = spec;
  if (spec.colour_order === 'GRAY_BT601') {
    const out = new Float32Array(plane);
    for (let i = 0; i < plane; i++)
      out[i] =
        (0.299 * (rgb[3 * i] as number) +
          0.587 * (rgb[3 * i + 1] as number) +
          0.114 * (rgb[3 * i + 2] as number) -
          mean) /
        std;
    return out;
  }
  const out = new Float32Array(3 * plane);
  // plane k holds channel order[k] of the interleaved RGB samples
  const [p0, p2] = spec.colour_order === 'BGR' ? [2, 0] : [0, 2];
  for (let i = 0; i < plane; i++) {
    out[i] = ((rgb[3 * i + p0] as number) - mean) / std;
    out[plane + i] = ((rgb[3 * i + 1] as number) - mean) / std;
    out[2 * plane + i] = ((rgb[3 * i + p2] as number) - mean) / std;
  }
  return out;
}

/** The aligned crop as an RGB JPEG (attendance records keep it). */
export async function alignedJpeg(face: AlignedFace): Promise<Uint8Array> {
  const rgb = new Uint8Array(face.rgb.length);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(face.rgb[i] as number);
  const jpeg = await sharp(rgb, { raw: { width: face.size, height: face.size, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
  return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.length);
}

/** An ONNX embedder whose input and output are what its manifest entry says. */
export class OnnxEmbedder implements Embedder {
  private readonly shape: number[];

  constructor(
    private readonly session: InferenceSession,
    private readonly spec: ModelInputSpec,
    private readonly output: string,
    readonly dim: number,
  ) {
    this.shape = [...spec.shape];
  }

  /** The crop side the embedder takes (its input's height). */
  get size(): number {
    return this.shape[2] as number;
  }

  async embed(face: AlignedFace): Promise<Float32Array> {
    if (face.size !== this.size) throw new Error(`embedder takes ${this.size} px crops, got ${face.size}`);
    const input = new Tensor('float32', embedderInput(face, this.spec), this.shape);
    const out = await this.session.run({ [this.spec.name]: input });
    const raw = out[this.output];
    if (!raw) throw new Error(`feature model returned no output ${this.output}`);
    const v = raw.data as Float32Array;
    if (v.length !== this.dim) throw new Error(`feature model returned ${v.length} values, not ${this.dim}`);
    return l2Normalize(v);
  }
}
