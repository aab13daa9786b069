/**
 * The per-person report (CSV, or JSON when the file name ends in .json) and the summary
 * printed at the end.
 */
import { writeFile } from 'node:fs/promises';

export interface ReportRow {
  user_id: string;
  name: string;
  /** ENROLLED, UPDATED, or why not: a service error code or a local one (NO_PHOTOS, ...). */
  outcome: string;
  ok: boolean;
  /** The error message; for a successful row, its warnings (if any). */
  error: string;
  /** The job the person was enrolled in; empty when never uploaded. */
  job_id: string;
}

export const REPORT_COLUMNS = ['user_id', 'name', 'outcome', 'ok', 'error', 'job_id'] as const;

export interface Summary {
  total: number;
  enrolled: number;
  updated: number;
  failed: number;
  /** Failed people per outcome, most frequent first. */
  failedBy: [outcome: string, count: number][];
}

/**
 * RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. A field a
 * spreadsheet would run as a formula (= + - @, or a leading tab/CR) gets a leading apostrophe
 * first (OWASP's CSV-injection advice): names come from uploaders, the report goes to operators.
 */
export function csvField(value: string): string {
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function reportCsv(rows: readonly ReportRow[]): string {
  const lines = [REPORT_COLUMNS.join(',')];
  for (const row of rows) lines.push(REPORT_COLUMNS.map((c) => csvField(String(row[c]))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function summarise(rows: readonly ReportRow[]): Summary {
  const failedBy = new Map<string, number>();
  let enrolled = 0;
  let updated = 0;
  for (const row of rows) {
    if (!row.ok) failedBy.set(row.outcome, (failedBy.get(row.outcome) ?? 0) + 1);
    else if (row.outcome === 'UPDATED') updated++;
    else enrolled++;
  }
  const failed = rows.length - enrolled - updated;
  const sorted = [...failedBy].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return { total: rows.length, enrolled, updated, failed, failedBy: sorted };
}

export function formatSummary(s: Summary): string {
  const reasons = s.failedBy.map(([outcome, n]) => `  ${outcome}: ${n}`);
  return [`enrolled: ${s.enrolled}`, `updated: ${s.updated}`, `failed: ${s.failed}`, ...reasons].join('\n');
}

export async function writeReport(
  path: string,
  rows: readonly ReportRow[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  if (!path.toLowerCase().endsWith('.json')) return writeFile(path, reportCsv(rows));
  const { failedBy, ...summary } = summarise(rows);
  const body = { ...extra, summary: { ...summary, failed_by: Object.fromEntries(failedBy) }, items: rows };
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`);
}
