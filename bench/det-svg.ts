/**
 * A DET plot (FNIR against FPIR, both log axes, one curve per decision score) as a small
 * hand-written SVG: no dependency, no script, no external font.
 */
import { escapeXml } from '../src/shared/calibration-svg.js';
import type { DetPoint } from './openset-metrics.js';

export interface DetCurve {
  name: string;
  points: DetPoint[];
}

export interface DetMarker {
  label: string;
  fpir: number;
  fnir: number;
}

export interface DetPlot {
  title: string;
  subtitle: string;
  curves: DetCurve[];
  /** Operating points drawn as dots (e.g. the published thresholds on the top-1 curve). */
  markers: DetMarker[];
  /** The smallest non-zero rates the data can show (1 / non-mated, 1 / mated): axis floors. */
  fpirFloor: number;
  fnirFloor: number;
}

const W = 800;
const H = 560;
const L = 70;
const R = 560;
const T = 60;
const B = 500;
const COLOURS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666'];
const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const f1 = (v: number) => Math.round(v * 10) / 10;

/** Decades from the one at or below `floor` up to 1. */
function decades(floor: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(floor, 1e-6)));
  return Array.from({ length: -lo + 1 }, (_, i) => 10 ** (lo + i));
}

const label = (v: number) => (v >= 0.01 ? `${Number((v * 100).toPrecision(2))} %` : `${v * 100} %`);

export function renderDetSvg(plot: DetPlot): string {
  const xs = decades(plot.fpirFloor);
  const ys = decades(plot.fnirFloor);
  const x0 = Math.log10(xs[0] as number);
  const y0 = Math.log10(ys[0] as number);
  // Zero rates cannot sit on a log axis: they are drawn on the axis floor.
  const px = (v: number) => L + ((Math.log10(Math.max(v, xs[0] as number)) - x0) / -x0) * (R - L);
  const py = (v: number) => B - ((Math.log10(Math.max(v, ys[0] as number)) - y0) / -y0) * (B - T);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${L}" y="26" font-size="17" font-weight="bold">${escapeXml(plot.title)}</text>`,
    `<text x="${L}" y="45" font-size="11.5" fill="#555">${escapeXml(plot.subtitle)}</text>`,
  ];
  for (const v of xs) {
    const x = f1(px(v));
    parts.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${B}" stroke="#ddd"/>`);
    parts.push(`<text x="${x}" y="${B + 16}" font-size="11" text-anchor="middle">${label(v)}</text>`);
  }
  for (const v of ys) {
    const y = f1(py(v));
    parts.push(`<line x1="${L}" y1="${y}" x2="${R}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 6}" y="${y + 4}" font-size="11" text-anchor="end">${label(v)}</text>`);
  }
  parts.push(`<rect x="${L}" y="${T}" width="${R - L}" height="${B - T}" fill="none" stroke="#333"/>`);
  parts.push(
    `<text x="${(L + R) / 2}" y="${B + 36}" font-size="12" text-anchor="middle">FPIR (non-mated searches returning a match)</text>`,
    `<text transform="translate(18 ${(T + B) / 2}) rotate(-90)" font-size="12" text-anchor="middle">FNIR (mated searches without the right top-1 under t)</text>`,
  );
  plot.curves.forEach((curve, i) => {
    const colour = COLOURS[i % COLOURS.length] as string;
    // Only points with FPIR > 0 lie on the plot; the first is drawn from the floor.
    const pts = curve.points
      .filter((p) => p.fpir > 0)
      .map((p) => `${f1(px(p.fpir))},${f1(py(p.fnir))}`)
      .join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="1.8"/>`);
    const y = T + 12 + i * 18;
    parts.push(
      `<line x1="${R + 15}" y1="${y - 4}" x2="${R + 40}" y2="${y - 4}" stroke="${colour}" stroke-width="3"/>`,
    );
    parts.push(`<text x="${R + 46}" y="${y}" font-size="11.5">${escapeXml(curve.name)}</text>`);
  });
  const my = T + 12 + plot.curves.length * 18 + 14;
  parts.push(`<text x="${R + 15}" y="${my}" font-size="11.5" font-weight="bold">top-1 distance at</text>`);
  const drawn = new Set<string>();
  plot.markers.forEach((m, i) => {
    const x = f1(px(m.fpir));
    const y = f1(py(m.fnir));
    // A marker on the very point of an earlier one (the default is a published level) is listed only.
    if (!drawn.has(`${x},${y}`)) {
      drawn.add(`${x},${y}`);
      parts.push(`<circle cx="${x}" cy="${y}" r="4" fill="#111"/>`);
      parts.push(`<text x="${x + 6}" y="${y - 6}" font-size="10.5">${i + 1}</text>`);
    }
    parts.push(
      `<text x="${R + 15}" y="${my + 16 * (i + 1)}" font-size="11">${i + 1}: ${escapeXml(m.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
