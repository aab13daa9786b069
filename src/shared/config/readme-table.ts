import { settingsOf, type Setting } from './setting.js';
import { SETTINGS } from './settings.js';

/**
 * The README's settings table, written from `SETTINGS` by `npm run docs:config` (and checked to
 * be current by test/shared/config-readme.test.ts), so it can never list a variable the schema
 * does not read, miss one, or show another default.
 */

export const TABLE_START =
  '<!-- settings:start (written by `npm run docs:config` from src/shared/config/settings.ts) -->';
export const TABLE_END = '<!-- settings:end -->';

/** The default as the table shows it: `shown`, else numbers with thousands separators, else code. */
export function shownDefault(s: Setting): string {
  if (s.shown !== undefined) return s.shown;
  if (s.default === undefined || s.default === '') return '(none)';
  const n = Number(s.default);
  // Separators from 10,000 on: a port (8000) or a side (1920) reads better without.
  if (Number.isFinite(n)) return Number.isInteger(n) && n >= 10_000 ? n.toLocaleString('en-US') : s.default;
  return `\`${s.default}\``;
}

export function settingsTable(): string {
  const rows = settingsOf(SETTINGS).map((s) => `| \`${s.env}\` | ${shownDefault(s)} | ${s.doc} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** `readme` with the text between the markers replaced by the current table. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} ... ${TABLE_END} section`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${settingsTable()}\n${readme.slice(end)}`;
}
