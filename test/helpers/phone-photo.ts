/**
 * Phone-sized photos: a 12 MP (4032x3024) JPEG of a real LFW face, with per-pixel noise so it
 * compresses like a camera's output — 4.0 MB at quality 92, 7.3 MB at 97, the range of real
 * 12 MP phone JPEGs (3-6 MB, more for detailed scenes). Built in memory, never written to disk.
 */
import sharp from 'sharp';
import { mulberry32Uint } from '../../src/shared/prng.js';
import { photoPath } from './faces.js';

const WIDTH = 4032;
const HEIGHT = 3024;

export async function phonePhoto(name: string, n: number, quality: 92 | 97): Promise<Buffer> {
  const raw = await sharp(photoPath(name, n)).resize(WIDTH, HEIGHT, { fit: 'cover' }).raw().toBuffer();
  const next = mulberry32Uint(quality);
  for (let i = 0; i < raw.length; i++) {
    const v = (raw[i] as number) + (next() % 33) - 16;
    raw[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return sharp(raw, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
}
