import sharp, { type Metadata } from 'sharp';
import { ServiceError } from '../../shared/errors.js';
import { assertSupportedImage } from '../../shared/image-input.js';
import type { RgbImage } from './image.js';

export interface DecodeLimits {
  /** Reject photos with more pixels than this before decoding them (MAX_IMAGE_PIXELS, 25 MP). */
  maxPixels: number;
}

/**
 * Decodes a photo to RGB at full resolution with EXIF orientation applied: the result's size
 * is the displayed size, what coordinates are reported in. The header is read first so that
 * oversized, animated or unsupported images are refused without a decode; `maxPixels` is what
 * bounds the memory (25 MP = 75 MB of RGB).
 *
 * Not shrunk on load (it was, to MAX_DECODE_SIDE): faces are landmarked and embedded from these
 * pixels, and a 3840x2160 frame shrunk to 1920 matched 85.8 % of 54-117 px faces against 94.2 %
 * for the same faces in 1080p (bench:frames). Detection still works at MAX_DECODE_SIDE, on the
 * pyramid (detect.ts). Nor is the full decode dearer for frames: 3840x2160 JPEG, 31 ms full
 * against 48 ms with shrink-on-load; 4000x3000, 52 vs 57 ms; only 6000x4000 pays (107 vs 69 ms).
 */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<RgbImage> {
  // The format is decided once, by the magic bytes (the API checked the same before queueing;
  // a job's bytes are checked again here because the worker trusts no queue); sharp's header
  // must then agree with it, instead of a second list of supported formats.
  const format = assertSupportedImage(bytes);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ServiceError('INVALID_IMAGE', 'image could not be read');
  }
  if (meta.format !== format) {
    throw new ServiceError(
      'INVALID_IMAGE',
      `image starts as ${format} but reads as ${meta.format ?? 'unknown'}`,
    );
  }
  if ((meta.pages ?? 1) > 1) {
    throw new ServiceError('INVALID_IMAGE', 'animated or multi-page images are not accepted');
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new ServiceError('INVALID_IMAGE', 'image has no dimensions');
  if (width * height > limits.maxPixels) {
    throw new ServiceError(
      'IMAGE_TOO_LARGE',
      `image has ${width}x${height} = ${width * height} pixels; the limit is ${limits.maxPixels}`,
      { width, height, max_pixels: limits.maxPixels },
    );
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error' })
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ServiceError('INVALID_IMAGE', `unexpected ${info.channels} channels`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    throw new ServiceError('INVALID_IMAGE', `image could not be decoded: ${(err as Error).message}`);
  }
}
