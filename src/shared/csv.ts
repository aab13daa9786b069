import { parse, CsvError } from 'csv-parse/sync';
import { ServiceError } from './errors.js';

/**
 * CSV as spreadsheets and people write it, read with csv-parse (a kept RFC 4180 parser): a
 * BOM, quoted fields with doubled quotes and line breaks, CRLF or LF, spaces around fields
 * (`u1, "Stewart, Tony"` is two fields, not three) and `,`, `;` (Excel in much of Europe) or tab
 * delimiters, detected from the header line. The hand-written parser this replaces split
 * `"Stewart, Tony"` after a space and read semicolon files as one column.
 */
const DELIMITERS = [',', ';', '\t'] as const;

/** The delimiter the header line uses most outside quotes (`,` when it has none). */
export function detectDelimiter(text: string): string {
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best: string = ',';
  for (const d of DELIMITERS) if ((counts.get(d) ?? 0) > (counts.get(best) ?? 0)) best = d;
  return best;
}

/** Rows of fields; blank lines skipped. A malformed file is INVALID_REQUEST naming the line. */
export function parseCsv(text: string, field?: string): string[][] {
  try {
    return parse(text, {
      bom: true,
      delimiter: detectDelimiter(text),
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
    });
  } catch (err) {
    if (err instanceof CsvError) {
      throw new ServiceError('INVALID_REQUEST', `the CSV cannot be read: ${err.message}`, {
        reason: err.code,
        ...(field ? { field } : {}),
      });
    }
    throw err;
  }
}

export interface CsvColumns {
  /** Each entry is one required column, by any of its names (`['file', 'path']`). */
  required: readonly (readonly string[])[];
  /** How the expected header reads in an error, e.g. `user_id,name,file[,group]`. */
  expected: string;
  /** The request field the CSV came in (`manifest`), for the error's `field`. */
  field?: string;
}

/**
 * Rows as objects keyed by the header row (trimmed, lower-case). With `columns`, a header that
 * lacks one is one clear error naming the missing column(s) and the header expected, instead
 * of every row failing on an `undefined` field.
 */
export function csvRecords(text: string, columns?: CsvColumns): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text, columns?.field);
  const keys = (header ?? []).map((h) => h.trim().toLowerCase());
  if (columns) {
    const missing = columns.required.filter((names) => !names.some((n) => keys.includes(n)));
    if (missing.length > 0) {
      const named = missing.map((names) => names.join(' or ')).join(', ');
      const found = keys.length
        ? keys.join(detectDelimiter(text) === '\t' ? '<tab>' : detectDelimiter(text))
        : '(empty)';
      throw new ServiceError(
        'INVALID_REQUEST',
        `missing column ${named}: expected a header ${columns.expected}, found ${found}`,
        { missing: named, expected: columns.expected, ...(columns.field ? { field: columns.field } : {}) },
      );
    }
  }
  return rows.map((r) => Object.fromEntries(keys.map((k, i) => [k, r[i] ?? ''])));
}
