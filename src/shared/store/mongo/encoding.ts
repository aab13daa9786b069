import { Binary } from 'mongodb';

export const now = () => new Date().toISOString();
export const toBinary = (v: Float32Array) => new Binary(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
/**
 * Copies the bytes into a fresh, exactly sized (hence 4-byte aligned) ArrayBuffer before viewing
 * them as floats. Not `.slice()`: value() may be a Node Buffer, whose slice shares the (pooled) memory.
 */
export const fromBinary = (b: Binary) => new Float32Array(new Uint8Array(b.value()).buffer);
export { isoTime } from '../iso-time.js';
