import { ServiceError } from '../errors.js';

/** Opaque page cursors: base64url of the last key seen, so callers cannot depend on its form. */
export const encodeCursor = (key: string | number): string => Buffer.from(String(key)).toString('base64url');

const badCursor = () =>
  new ServiceError('INVALID_REQUEST', 'cursor is not one this API gave out; use next_cursor as given', {
    field: 'cursor',
  });

/**
 * The key a cursor holds. One this API did not give out (not base64url of UTF-8, e.g. cut short
 * or edited) is a 400 naming `cursor`: read leniently it would silently restart or skip pages.
 */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const key = Buffer.from(cursor, 'base64url').toString();
  if (encodeCursor(key) !== cursor) throw badCursor();
  return key;
}

/** A numeric cursor (an item index): as decodeCursor, and a whole number. */
export function decodeIndexCursor(cursor: string | undefined): number | undefined {
  const key = decodeCursor(cursor);
  if (key === undefined) return undefined;
  const n = Number(key);
  if (!Number.isInteger(n)) throw badCursor();
  return n;
}
