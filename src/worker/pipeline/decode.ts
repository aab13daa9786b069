import sharp, { type Metadata } from 'sharp';
import { ServiceError } from '../../shared/errors.js';
import { assertSupportedImage } from '../../shared/image-input.js';
import type { RgbImage } from './image.js';

export interface DecodeLimits {
  /** Reject photos with more pixels than this before decoding them (default 25 MP). */
  maxPixels: number;
  /** Longest side after decoding; larger photos are shrunk while loading (JPEG DCT scaling). */
  maxSide: number;
}

export interface DecodedImage {
  image: RgbImage;
  /** Size after EXIF orientation, before any shrinking: what coordinates are reported in. */
  originalWidth: number;
  originalHeight: number;
  /** original / decoded; multiply decoded coordinates by this to report them. */
  scale: number;
}

const SUPPORTED = new Set(['jpeg', 'png', 'webp']);

/**
 * Decodes a photo to RGB with EXIF orientation applied. The header is read first so that
 * oversized, animated or unsupported images are refused without a full decode; sharp then
 * shrinks on load, so a 12-megapixel JPEG costs a fraction of its full-resolution decode.
 */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  assertSupportedImage(bytes);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ServiceError('INVALID_IMAGE', 'image could not be read');
  }
  if (!meta.format || !SUPPORTED.has(meta.format)) {
    throw new ServiceError('INVALID_IMAGE', `unsupported image format ${meta.format ?? 'unknown'}`);
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
  const shrink = Math.max(width, height) > limits.maxSide ? limits.maxSide / Math.max(width, height) : 1;
  try {
    let pipeline = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error' }).autoOrient();
    if (shrink < 1) {
      pipeline = pipeline.resize({
        width: Math.max(1, Math.round(width * shrink)),
        height: Math.max(1, Math.round(height * shrink)),
        fit: 'fill',
        fastShrinkOnLoad: true,
      });
    }
    const { data, info } = await pipeline
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ServiceError('INVALID_IMAGE', `unexpected ${info.channels} channels`);
    return {
      image: {
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
        width: info.width,
        height: info.height,
      },
      originalWidth: width,
      originalHeight: height,
      scale: width / info.width,
    };
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    throw new ServiceError('INVALID_IMAGE', `image could not be decoded: ${(err as Error).message}`);
  }
}
