import { ServiceError } from './errors.js';

/**
 * Strict base64 for uploaded photos. `Buffer.from(s, 'base64')` silently skips characters
 * outside the alphabet, so a corrupted upload would decode into different bytes; we check the
 * alphabet and padding first. A `data:image/...;base64,` prefix is accepted as the guide's
 * browser clients send it. Whitespace (line-wrapped base64 from some encoders) is ignored.
 */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_PADDED = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)$/;
const DATA_URL = /^data:([a-z0-9.+/-]*)?(;[a-z0-9=.-]+)*;base64,/i;

export function decodeBase64Image(input: string, field = 'image'): Buffer {
  const body = input.replace(DATA_URL, '').replace(/\s+/g, '');
  if (body.length === 0) {
    throw new ServiceError('INVALID_IMAGE', `${field} is empty`, { field });
  }
  if (BASE64.test(body)) return Buffer.from(body, 'base64');
  if (BASE64URL_PADDED.test(body)) return Buffer.from(body, 'base64url');
  if (BASE64URL.test(body) && body.length % 4 !== 1) return Buffer.from(body, 'base64url');
  throw new ServiceError('INVALID_IMAGE', `${field} is not valid base64`, { field });
}

export type ImageFormat = 'jpeg' | 'png' | 'webp';

/** Identifies JPEG, PNG and WebP by their magic bytes, before any decoder sees the data. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const b = (i: number) => bytes[i] ?? -1;
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'jpeg';
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return 'png';
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return undefined;
}

export function assertSupportedImage(bytes: Uint8Array, field = 'image'): ImageFormat {
  const format = sniffImageFormat(bytes);
  if (!format) {
    throw new ServiceError('INVALID_IMAGE', `${field} is not a JPEG, PNG or WebP image`, { field });
  }
  return format;
}
