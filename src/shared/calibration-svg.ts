/**
 * The calibration report as a self-contained SVG (hand-built: no dependencies, no scripts, no
 * external fonts) that a person can read at a glance: distance histograms with the thresholds on
 * top, FAR/FRR against the threshold below, the recommendation underneath.
 */
import type { CalibrationReport } from './calibration.js';

const W = 900;
const H = 700;
const X0 = 70;
const X1 = 870;
const TOP = { y: 92, h: 215 };
const BOTTOM = { y: 385, h: 200 };
const GENUINE = '#1b9e77';
const IMPOSTOR = '#d95f02';
const EER = '#7570b3';
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

/** Text content and attribute values: XML escapes, minus the control characters XML forbids. */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '') // eslint-disable-line no-control-regex
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const f1 = (v: number) => Math.round(v * 10) / 10;
const pct = (x: number) => `${x === 0 ? 0 : Number((x * 100).toPrecision(2))} %`;

/** Halo so labels stay legible over bars and curves. */
const HALO = 'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"';

/** Text styles by role, so the drawing code says what a label is rather than how it looks. */
const STYLE = {
  title: 'font-size="19" font-weight="bold" fill="#111"',
  sub: 'font-size="12" fill="#555"',
  panel: 'font-size="13" font-weight="bold" fill="#222"',
  tick: 'font-size="11" fill="#444"',
  axis: 'font-size="12" fill="#333"',
  note: `font-size="10" fill="#666" ${HALO}`,
  footer: 'font-size="11.5" fill="#222"',
};

function text(x: number, y: number, s: string, style: string, anchor = 'start'): string {
  const a = anchor === 'start' ? '' : ` text-anchor="${anchor}"`;
  return `<text x="${f1(x)}" y="${f1(y)}" ${style}${a}>${escapeXml(s)}</text>`;
}

/** Greedy word wrap for the footer (SVG 1.1 text does not wrap). */
function wrap(s: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function legend(x: number, y: number, items: [string, string][]): string {
  let out = '';
  let cx = x;
  for (const [colour, label] of items) {
    out += `<rect x="${f1(cx)}" y="${y - 9}" width="12" height="10" fill="${colour}" fill-opacity="0.7"/>`;
    out += text(cx + 16, y, label, STYLE.tick);
    cx += 26 + label.length * 5.8;
  }
  return out;
}

function header(r: CalibrationReport): string {
  const group = r.group === null ? 'all groups' : `group "${r.group}"`;
  const c = r.counts;
  const s = r.impostor_sampling;
  const sampling =
    s.method === 'all' ? 'all pairs' : `random sample of ${s.total_pairs} pairs, seed ${s.seed}`;
  const sub =
    `${c.users} users, ${c.templates} templates, ${c.genuine_pairs} genuine pairs, ` +
    `${c.impostor_pairs} impostor pairs (${sampling})${r.model ? ` · model ${r.model}` : ''}`;
  return text(X0, 32, `Shelia threshold calibration — ${group}`, STYLE.title) + text(X0, 52, sub, STYLE.sub);
}

function insufficient(r: CalibrationReport): string {
  const lines = [r.message, ...r.missing.map((m) => `• needs ${m}`)].flatMap((l) => wrap(l, 95));
  const box = `<rect x="${X0}" y="240" width="${X1 - X0}" height="${150 + lines.length * 22}"`;
  return (
    `${box} rx="8" fill="#fff4e5" stroke="#e0a040"/>` +
    text(
      W / 2,
      295,
      'Not enough data to calibrate',
      'font-size="20" font-weight="bold" fill="#a05000"',
      'middle',
    ) +
    lines.map((l, i) => text(W / 2, 330 + i * 22, l, 'font-size="15" fill="#333"', 'middle')).join('') +
    text(
      W / 2,
      360 + lines.length * 22,
      'Enrol at least 2 people, one of them with 2 or more photos.',
      STYLE.sub,
      'middle',
    )
  );
}

/** A "nice" tick step giving at most `count` ticks up to `max`. */
function niceStep(max: number, count: number): number {
  for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500]) {
    const step = m / 1000;
    if (max / step <= count) return step;
  }
  return max / count;
}

function xAxis(panel: { y: number; h: number }, xs: (d: number) => number, maxDistance: number): string {
  let out = '';
  for (let k = 0; k <= Math.round(maxDistance * 10); k++) {
    const x = xs(k / 10);
    out += `<line x1="${f1(x)}" y1="${panel.y}" x2="${f1(x)}" y2="${panel.y + panel.h}" stroke="#eee"/>`;
    out += text(x, panel.y + panel.h + 15, (k / 10).toFixed(1), STYLE.tick, 'middle');
  }
  out += `<rect x="${X0}" y="${panel.y}" width="${X1 - X0}" height="${panel.h}" fill="none" stroke="#888"/>`;
  const label = 'cosine distance (a match is distance ≤ threshold)';
  return out + text((X0 + X1) / 2, panel.y + panel.h + 32, label, STYLE.axis, 'middle');
}

const yLabel = (panel: { y: number; h: number }, s: string) => {
  const y = f1(panel.y + panel.h / 2);
  return text(18, y, s, `${STYLE.axis} transform="rotate(-90 18 ${y})"`, 'middle');
};

/** The threshold lines drawn in both panels; labels stagger down the top panel so none overlap. */
function thresholdLines(r: CalibrationReport, xs: (d: number) => number): { top: string; bottom: string } {
  // The pack's published levels, as the report measured them.
  const at = (level: string) => r.published.find((p) => p.level === level)?.threshold;
  const lines: { t: number; label: string; colour: string; dash: string }[] = [];
  for (const [level, dash] of [
    ['high_security', '6 3'],
    ['balanced', '2 3'],
  ] as const) {
    const t = at(level);
    if (t !== undefined) lines.push({ t, label: level, colour: '#333', dash });
  }
  if (r.eer) lines.push({ t: r.eer.threshold, label: 'EER', colour: EER, dash: '' });
  const rec = r.recommendation;
  if (rec?.level === 'custom')
    lines.push({ t: rec.threshold, label: 'recommended', colour: '#c00', dash: '8 2 2 2' });
  let top = '';
  let bottom = '';
  lines
    .sort((a, b) => a.t - b.t)
    .forEach((l, i) => {
      const x = f1(xs(l.t));
      const style = `stroke="${l.colour}" stroke-width="1.5"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}`;
      top += `<line x1="${x}" y1="${TOP.y}" x2="${x}" y2="${TOP.y + TOP.h}" ${style}/>`;
      bottom += `<line x1="${x}" y1="${BOTTOM.y}" x2="${x}" y2="${BOTTOM.y + BOTTOM.h}" ${style}/>`;
      const anchor = l.t > 0.9 ? 'end' : 'start';
      const lx = anchor === 'end' ? x - 4 : x + 4;
      top += text(
        lx,
        TOP.y + 14 + i * 14,
        `${l.label} ${l.t}`,
        `font-size="11" fill="${l.colour}" ${HALO}`,
        anchor,
      );
    });
  return { top, bottom };
}

function histogramPanel(r: CalibrationReport, xs: (d: number) => number): string {
  const h = r.histogram;
  if (!h) return '';
  const share = (bins: number[]) => {
    const total = bins.reduce((s, v) => s + v, 0) || 1;
    return bins.map((v) => v / total);
  };
  const g = share(h.genuine);
  const im = share(h.impostor);
  const max = Math.max(...g, ...im, 1e-9) * 1.08;
  const step = niceStep(max, 5);
  const yMax = Math.ceil(max / step) * step;
  const ys = (v: number) => TOP.y + TOP.h - (v / yMax) * TOP.h;
  let out = '';
  for (let v = 0; v <= yMax + 1e-12; v += step) {
    const y = f1(ys(v));
    out += `<line x1="${X0}" y1="${y}" x2="${X1}" y2="${y}" stroke="#eee"/>`;
    out += text(X0 - 6, ys(v) + 4, pct(v), STYLE.tick, 'end');
  }
  const base = f1(ys(0));
  const path = (shares: number[]) =>
    `M${X0} ${base}` +
    shares
      .map((v, b) => `L${f1(xs(b * h.bin_width))} ${f1(ys(v))}L${f1(xs((b + 1) * h.bin_width))} ${f1(ys(v))}`)
      .join('') +
    `L${X1} ${base}Z`;
  out += `<path d="${path(im)}" fill="${IMPOSTOR}" fill-opacity="0.3" stroke="${IMPOSTOR}" stroke-width="1.2"/>`;
  out += `<path d="${path(g)}" fill="${GENUINE}" fill-opacity="0.3" stroke="${GENUINE}" stroke-width="1.2"/>`;
  const over = h.overflow.genuine + h.overflow.impostor;
  if (over > 0)
    out += text(
      X1 - 6,
      TOP.y + TOP.h - 6,
      `${over} pairs at ≥ ${h.max_distance} not shown`,
      STYLE.note,
      'end',
    );
  return out;
}

function ratePanel(r: CalibrationReport, xs: (d: number) => number): string {
  const c = r.curves;
  if (!c) return '';
  // Log scale down to a decade below the smallest non-zero rate this many pairs can show.
  const n = Math.max(r.counts.impostor_pairs, r.counts.genuine_pairs, 10);
  const low = Math.max(-6, Math.floor(Math.log10(1 / n)) - 1);
  const ys = (v: number) => BOTTOM.y + BOTTOM.h * (Math.max(Math.log10(Math.max(v, 10 ** low)), low) / low);
  let out = '';
  for (let e = 0; e >= low; e--) {
    const y = f1(ys(10 ** e));
    out += `<line x1="${X0}" y1="${y}" x2="${X1}" y2="${y}" stroke="#eee"/>`;
    out += text(X0 - 6, ys(10 ** e) + 4, e === low ? '0' : pct(10 ** e), STYLE.tick, 'end');
  }
  const poly = (rates: number[], colour: string) =>
    `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${c.threshold
      .map((t, i) => `${f1(xs(t))},${f1(ys(rates[i] ?? 0))}`)
      .join(' ')}"/>`;
  out += poly(c.far, IMPOSTOR) + poly(c.frr, GENUINE);
  if (r.eer) {
    const x = xs(r.eer.threshold);
    const y = ys(r.eer.eer);
    out += `<circle cx="${f1(x)}" cy="${f1(y)}" r="5" fill="${EER}" stroke="#fff" stroke-width="1.5"/>`;
    const label = `EER ${pct(r.eer.eer)} at ${r.eer.threshold}`;
    out += text(x + 8, y - 8, label, `font-size="12" font-weight="bold" fill="${EER}" ${HALO}`);
  }
  return out;
}

function footer(r: CalibrationReport): string {
  const targets = r.far_targets
    .map((f) =>
      f.threshold === null
        ? `FAR ${pct(f.target_far)}: not resolvable (${f.reason})`
        : `FAR ${pct(f.target_far)}: threshold ${f.threshold} (FRR ${pct(f.frr ?? 0)})`,
    )
    .join(' · ');
  const rec = r.recommendation;
  const lines = [
    ...wrap(targets, 140),
    ...(rec ? wrap(`Recommendation: ${rec.threshold} (${rec.level}). ${rec.reason}`, 140) : []),
  ].slice(0, 5);
  return lines.map((l, i) => text(X0 - 50, 636 + i * 15, l, STYLE.footer)).join('');
}

/** The whole report as an SVG document (~900x700). */
export function renderCalibrationSvg(r: CalibrationReport): string {
  const parts = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<title>${escapeXml(`Shelia calibration: ${r.message}`)}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    header(r),
  ];
  if (r.status !== 'ok' || !r.histogram) return [...parts, insufficient(r), '</svg>'].join('\n');
  const maxDistance = r.histogram.max_distance;
  const xs = (d: number) => X0 + (Math.min(Math.max(d, 0), maxDistance) / maxDistance) * (X1 - X0);
  const lines = thresholdLines(r, xs);
  parts.push(
    text(X0, TOP.y - 10, 'Distances between templates', STYLE.panel),
    legend(X1 - 440, TOP.y - 10, [
      [GENUINE, `genuine: same person (${r.counts.genuine_pairs})`],
      [IMPOSTOR, `impostor: different people (${r.counts.impostor_pairs})`],
    ]),
    xAxis(TOP, xs, maxDistance),
    yLabel(TOP, 'share of pairs'),
    histogramPanel(r, xs),
    lines.top,
    text(X0, BOTTOM.y - 10, 'Error rates by threshold (log scale)', STYLE.panel),
    legend(X1 - 440, BOTTOM.y - 10, [
      [IMPOSTOR, 'FAR: impostors accepted'],
      [GENUINE, 'FRR: genuine users rejected'],
    ]),
    xAxis(BOTTOM, xs, maxDistance),
    yLabel(BOTTOM, 'error rate'),
    ratePanel(r, xs),
    lines.bottom,
    footer(r),
    '</svg>',
  );
  return parts.join('\n');
}
