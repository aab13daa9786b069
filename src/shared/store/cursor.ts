/** Opaque page cursors: base64url of the last key seen, so callers cannot depend on its form. */
export const encodeCursor = (key: string | number): string => Buffer.from(String(key)).toString('base64url');

export function decodeCursor(cursor: string | undefined): string | undefined {
  return cursor ? Buffer.from(cursor, 'base64url').toString() : undefined;
}
