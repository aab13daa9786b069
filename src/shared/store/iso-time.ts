/**
 * A time in the one form the stores compare as text (`2026-03-02T09:00:00.000Z`): attendance
 * times are compared and ordered as strings, which is only right when every one has this exact
 * form (`…09:00:00Z` would sort after `…09:00:00.500Z`). Throws on a value that is not a time.
 */
export function isoTime(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new RangeError(`invalid time: ${value}`);
  return new Date(t).toISOString();
}
