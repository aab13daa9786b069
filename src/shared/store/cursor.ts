import { ServiceError } from '../errors.js';
import type { Page } from './types.js';

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

/**
 * How a list is keyed: the key of a row (unique, in the list's order), and how a cursor holds
 * one. Three shapes are used: an id, an index, and a (time, id) pair.
 */
export interface Keyset<Row, Key> {
  keyOf(row: Row): Key;
  encode(key: Key): string;
  /** The key after which the page starts; undefined: from the start. */
  decode(cursor: string | undefined): Key | undefined;
}

/** Keyed by one string (user_id, template_id). */
export const byId = <Row>(keyOf: (row: Row) => string): Keyset<Row, string> => ({
  keyOf,
  encode: encodeCursor,
  decode: decodeCursor,
});

/** Keyed by a whole number (an item's index). */
export const byIndex = <Row>(keyOf: (row: Row) => number): Keyset<Row, number> => ({
  keyOf,
  encode: encodeCursor,
  decode: decodeIndexCursor,
});

/** Keyed by (a time or other sort field, a unique id): the cursor holds `first|second`. */
export const byPair = <Row>(keyOf: (row: Row) => [string, string]): Keyset<Row, [string, string]> => ({
  keyOf,
  encode: ([first, second]) => encodeCursor(`${first}|${second}`),
  decode(cursor) {
    const key = decodeCursor(cursor);
    if (!key) return undefined;
    const [first = '', second = ''] = key.split('|');
    return [first, second];
  },
});

/**
 * One page of a keyset-paged list, for every list method of every backend. `fetch` reads, in
 * key order, at most `limit` rows after `after` (every row when undefined): it is asked for
 * one more than the page, which says whether there is a next page, whose cursor is the page's
 * last row's key. `toItems` maps the page's rows (it may drop some, e.g. a template whose user
 * is gone: the cursor still moves past them).
 */
export async function keysetPage<Row, Key, Item>(
  q: { cursor?: string; limit: number },
  keyset: Keyset<Row, Key>,
  fetch: (after: Key | undefined, limit: number) => Row[] | Promise<Row[]>,
  toItems: (rows: Row[]) => Item[] | Promise<Item[]>,
): Promise<Page<Item>> {
  const rows = await fetch(keyset.decode(q.cursor), q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: await toItems(page),
    next_cursor: rows.length > q.limit && last !== undefined ? keyset.encode(keyset.keyOf(last)) : null,
  };
}
