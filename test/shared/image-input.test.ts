import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceError } from '../../src/shared/errors.js';
import { assertSupportedImage, decodeBase64Image, sniffImageFormat } from '../../src/shared/image-input.js';

/** Bytes whose base64 uses both '+' and '/' (and so '-' and '_' in base64url), length 1 mod 3. */
const BYTES = Buffer.from([0xfb, 0xff, 0xfe, 0x01, 0x02, 0x03, 0xfa]);
const B64 = BYTES.toString('base64'); // '+//+AQID+g=='

function rejects(input: string, field = 'image'): ServiceError {
  try {
    decodeBase64Image(input, field);
  } catch (err) {
    assert.ok(err instanceof ServiceError, String(err));
    assert.equal(err.code, 'INVALID_IMAGE');
    assert.equal(err.details.field, field);
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

void describe('decodeBase64Image', () => {
  void it('decodes standard padded base64', () => {
    assert.equal(B64, '+//+AQID+g==');
    assert.deepEqual(decodeBase64Image(B64), BYTES);
    assert.equal(decodeBase64Image('aGVsbG8=').toString(), 'hello');
  });

  void it('rejects characters outside the alphabet instead of skipping them', () => {
    for (const s of ['aGVsbG8*', 'aGV$bG8=', 'aGVsbG8=!', 'aGVs\u00e9bG8=', 'aGVs.bG8=']) rejects(s);
  });

  void it('rejects wrong padding', () => {
    for (const s of ['aGVsbG8==', 'aGVsbA=', 'aGVs=bG8', '====', 'aGVsbG8=aGVsbG8=', 'aGVsb']) rejects(s);
  });

  void it('rejects a mix of the base64 and base64url alphabets', () => {
    rejects('ab+_');
    rejects('ab-/');
  });

  void it('rejects empty input, including a data URL with no body, naming the field', () => {
    assert.match(rejects('', 'reference').message, /reference is empty/);
    rejects('data:image/jpeg;base64,');
    rejects(' \n\t ');
  });

  void it('accepts a data-URL prefix, case-insensitively', () => {
    assert.deepEqual(decodeBase64Image(`data:image/jpeg;base64,${B64}`), BYTES);
    assert.deepEqual(decodeBase64Image(`DATA:IMAGE/PNG;BASE64,${B64}`), BYTES);
    assert.deepEqual(decodeBase64Image(`data:;base64,${B64}`), BYTES);
  });

  void it('accepts whitespace-wrapped input (76-column MIME lines, CRLF, indentation)', () => {
    const long = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff));
    const wrapped = `  ${(long.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')}\n`;
    assert.deepEqual(decodeBase64Image(wrapped), long);
  });

  void it('accepts unpadded base64url', () => {
    const url = BYTES.toString('base64url');
    assert.equal(url, '-__-AQID-g');
    assert.deepEqual(decodeBase64Image(url), BYTES);
  });

  void it('refuses one bad character anywhere in a 10 MB body, found without a regex over it', () => {
    const big = Buffer.alloc(7_500_000, 0xab).toString('base64');
    for (const at of [0, 5_000_000, big.length - 3]) {
      rejects(`${big.slice(0, at)}*${big.slice(at + 1)}`);
      rejects(`${big.slice(0, at)}=${big.slice(at + 1)}`);
    }
    assert.equal(decodeBase64Image(big).length, 7_500_000);
  });

  void it('accepts padded base64url (Python urlsafe_b64encode, Java getUrlEncoder)', () => {
    assert.deepEqual(decodeBase64Image('-__-AQID-g=='), BYTES);
  });
});

void describe('sniffImageFormat', () => {
  const riff = (tag: string) => Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from(tag)]);

  void it('recognises JPEG, PNG and WebP by their magic bytes', () => {
    assert.equal(sniffImageFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])), 'jpeg');
    assert.equal(sniffImageFormat(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'png');
    assert.equal(sniffImageFormat(riff('WEBPVP8 ')), 'webp');
  });

  void it('rejects other formats and look-alikes', () => {
    assert.equal(sniffImageFormat(Buffer.from('GIF89a\x01\x00')), undefined);
    assert.equal(sniffImageFormat(Buffer.from('BM6\x00\x00\x00')), undefined);
    assert.equal(sniffImageFormat(riff('WAVEfmt ')), undefined, 'RIFF but not WebP');
    assert.equal(sniffImageFormat(Buffer.from([0xff, 0xd8, 0x00])), undefined, 'SOI without a marker');
    assert.equal(sniffImageFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined);
  });

  void it('does not read past the end of short input', () => {
    assert.equal(sniffImageFormat(new Uint8Array(0)), undefined);
    assert.equal(sniffImageFormat(Buffer.from([0xff, 0xd8])), undefined);
    assert.equal(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WEB')), undefined);
  });

  void it('assertSupportedImage throws INVALID_IMAGE naming the field for anything else', () => {
    assert.equal(assertSupportedImage(Buffer.from([0xff, 0xd8, 0xff, 0xdb])), 'jpeg');
    assert.throws(
      () => assertSupportedImage(Buffer.from('GIF89a'), 'probe'),
      (err: unknown) =>
        err instanceof ServiceError && err.code === 'INVALID_IMAGE' && err.details.field === 'probe',
    );
  });
});
