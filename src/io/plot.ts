// Dependency-free SVG charts: line charts (loss curves) and grouped bar charts (benchmarks).
// Output is a standalone SVG document (UTF-8 text) with axes, ticks, labels, a legend and distinct colours.
// Scales and ticks: src/io/plot-scale.ts.
import { formatTick, linearScale, logScale, niceTicks, type Scale } from './plot-scale.ts';

export { formatTick, niceTicks };

/** Tableau 10: distinct, colour-blind-friendly enough, readable on white. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
] as const;

export interface LineSeries {
  name: string;
  /** [x, y] pairs; non-finite values (and y ≤ 0 on a log axis) break the line. */
  points: [number, number][];
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Logarithmic y axis (base 10). Default false. */
  logY?: boolean;
  /** Fixed axis ranges; default: the data range, extended to round tick values. */
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  /** Draw point markers. Default: when every series has at most 40 points. */
  markers?: boolean;
}

export interface BarGroup {
  label: string;
  values: { name: string; value: number }[];
}

export interface BarChartOptions {
  title?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Logarithmic y axis (base 10); values ≤ 0 are not drawn. Default false. */
  log?: boolean;
  /** Print each bar's value above it. Default false. */
  showValues?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Coordinates with at most 2 decimals, so that documents stay small. */
function n2(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** Approximate text width in px for a 12 px sans-serif font. */
function textWidth(s: string, size = 12): number {
  return s.length * size * 0.58;
}

function header(width: number, height: number): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 ` +
      `0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
}

function checkDims(width: number, height: number): void {
  if (!(width >= 100 && height >= 80 && width <= 20000 && height <= 20000))
    throw new RangeError(`chart size must be within 100×80 .. 20000×20000, got ${width}×${height}`);
}

interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** linearScale with about one tick per `spacing` pixels between p0 and p1 (at least 2). */
function spacedScale(lo: number, hi: number, p0: number, p1: number, extend: boolean, spacing: number): Scale {
  return linearScale(lo, hi, p0, p1, extend, Math.max(2, Math.round(Math.abs(p1 - p0) / spacing)));
}

/** A dark axis line from (x1, y1) to (x2, y2). */
function axisLine(x1: number, y1: number, x2: number, y2: number): string {
  return `<line x1="${n2(x1)}" y1="${n2(y1)}" x2="${n2(x2)}" y2="${n2(y2)}" stroke="#333333" stroke-width="1"/>`;
}

/** "no data" in the middle of an empty chart's frame. */
function noData(f: Frame): string {
  const [cx, cy] = [n2((f.left + f.right) / 2), n2((f.top + f.bottom) / 2)];
  return `<text x="${cx}" y="${cy}" text-anchor="middle" fill="#999999">no data</text>`;
}

function yAxis(out: string[], f: Frame, y: Scale, label: string | undefined): void {
  for (const t of y.ticks) {
    const py = n2(y.map(t));
    out.push(`<line x1="${n2(f.left)}" y1="${py}" x2="${n2(f.right)}" y2="${py}" stroke="#e6e6e6" stroke-width="1"/>`);
    out.push(axisLine(f.left - 5, y.map(t), f.left, y.map(t)));
    out.push(
      `<text x="${n2(f.left - 8)}" y="${py}" text-anchor="end" ` +
        `dominant-baseline="middle" fill="#333333">${escapeXml(formatTick(t))}</text>`,
    );
  }
  out.push(axisLine(f.left, f.top, f.left, f.bottom));
  if (label) {
    const cy = n2((f.top + f.bottom) / 2);
    out.push(
      `<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 ` +
        `16 ${cy})" fill="#333333">${escapeXml(label)}</text>`,
    );
  }
}

function titleText(out: string[], title: string | undefined, width: number): void {
  if (title)
    out.push(
      `<text x="${n2(width / 2)}" y="22" text-anchor="middle" font-size="15" ` +
        `font-weight="bold" fill="#222222">${escapeXml(title)}</text>`,
    );
}

function legend(out: string[], names: string[], x: number, y: number, kind: 'line' | 'box'): void {
  out.push('<g class="legend">');
  names.forEach((name, i) => {
    const color = PALETTE[i % PALETTE.length];
    const cy = y + i * 18;
    if (kind === 'line')
      out.push(
        `<line x1="${n2(x)}" y1="${n2(cy)}" x2="${n2(x + 18)}" y2="${n2(cy)}" stroke="${color}" stroke-width="2.5"/>`,
      );
    else out.push(`<rect x="${n2(x + 4)}" y="${n2(cy - 5)}" width="10" height="10" fill="${color}"/>`);
    out.push(
      `<text x="${n2(x + 24)}" y="${n2(cy)}" dominant-baseline="middle" fill="#333333">${escapeXml(name)}</text>`,
    );
  });
  out.push('</g>');
}

function legendWidth(names: string[], width: number): number {
  if (names.length === 0) return 0;
  return Math.min(Math.max(...names.map((s) => textWidth(s))) + 40, width * 0.35);
}

// ---------------------------------------------------------------------------------------------------------
// Line chart

/** A line chart of one or more series as a standalone SVG document. */
export function lineChartSvg(series: LineSeries[], options: LineChartOptions = {}): string {
  const { title, xLabel, yLabel, width = 720, height = 360, logY = false } = options;
  checkDims(width, height);
  const names = series.map((s) => s.name);
  const ok = (x: number, y: number): boolean => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0);
  let xlo = Infinity;
  let xhi = -Infinity;
  let ylo = Infinity;
  let yhi = -Infinity;
  for (const s of series)
    for (const [x, y] of s.points) {
      if (!ok(x, y)) continue;
      if (x < xlo) xlo = x;
      if (x > xhi) xhi = x;
      if (y < ylo) ylo = y;
      if (y > yhi) yhi = y;
    }
  const empty = xlo === Infinity;
  if (empty) {
    xlo = 0;
    xhi = 1;
    ylo = logY ? 1 : 0;
    yhi = logY ? 10 : 1;
  }
  xlo = options.xMin ?? xlo;
  xhi = options.xMax ?? xhi;
  ylo = options.yMin ?? ylo;
  yhi = options.yMax ?? yhi;

  const f: Frame = {
    left: 72,
    right: width - 16 - legendWidth(names, width),
    top: title ? 40 : 16,
    bottom: height - (xLabel ? 48 : 32),
  };
  const x = spacedScale(xlo, xhi, f.left, f.right, options.xMin === undefined && options.xMax === undefined, 90);
  const y = logY
    ? logScale(ylo, yhi, f.bottom, f.top)
    : spacedScale(ylo, yhi, f.bottom, f.top, options.yMin === undefined && options.yMax === undefined, 50);

  const out = header(width, height);
  titleText(out, title, width);
  yAxis(out, f, y, yLabel);
  for (const t of x.ticks) {
    const px = n2(x.map(t));
    out.push(axisLine(x.map(t), f.bottom, x.map(t), f.bottom + 5));
    out.push(
      `<text x="${px}" y="${n2(f.bottom + 18)}" text-anchor="middle" fill="#333333">${escapeXml(formatTick(t))}</text>`,
    );
  }
  out.push(axisLine(f.left, f.bottom, f.right, f.bottom));
  if (xLabel)
    out.push(
      `<text x="${n2((f.left + f.right) / 2)}" y="${n2(height - 12)}" ` +
        `text-anchor="middle" fill="#333333">${escapeXml(xLabel)}</text>`,
    );
  if (empty) out.push(noData(f));

  const markers = options.markers ?? series.every((s) => s.points.length <= 40);
  out.push(
    `<defs><clipPath id="plot-area"><rect x="${n2(f.left)}" y="${n2(f.top)}" ` +
      `width="${n2(f.right - f.left)}" height="${n2(f.bottom - f.top)}"/></clipPath></defs>`,
  );
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    let d = '';
    let pen = false;
    const dots: string[] = [];
    for (const [px, py] of s.points) {
      if (!ok(px, py)) {
        pen = false;
        continue;
      }
      const sx = n2(x.map(px));
      const sy = n2(y.map(py));
      d += `${pen ? 'L' : 'M'}${sx} ${sy} `;
      pen = true;
      if (markers) dots.push(`<circle cx="${sx}" cy="${sy}" r="2.5" fill="${color}"/>`);
    }
    out.push(`<g class="series" clip-path="url(#plot-area)"><title>${escapeXml(s.name)}</title>`);
    if (d)
      out.push(
        `<path d="${d.trim()}" fill="none" stroke="${color}" ` +
          `stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>`,
      );
    out.push(...dots);
    out.push('</g>');
  });
  legend(out, names, f.right + 12, f.top + 8, 'line');
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------
// Bar chart

/** A grouped bar chart (one bar per value name in each group) as a standalone SVG document. */
export function barChartSvg(groups: BarGroup[], options: BarChartOptions = {}): string {
  const { title, yLabel, width = 720, height = 360, log = false, showValues = false } = options;
  checkDims(width, height);
  const names: string[] = [];
  for (const g of groups) for (const v of g.values) if (!names.includes(v.name)) names.push(v.name);
  const drawable = (v: number): boolean => Number.isFinite(v) && (!log || v > 0);
  let lo = Infinity;
  let hi = -Infinity;
  for (const g of groups)
    for (const v of g.values)
      if (drawable(v.value)) {
        lo = Math.min(lo, v.value);
        hi = Math.max(hi, v.value);
      }
  const empty = lo === Infinity;
  if (empty) {
    lo = log ? 1 : 0;
    hi = log ? 10 : 1;
  }

  // Group labels: rotated when they do not fit under their group.
  const legendW = legendWidth(names, width);
  const plotW = width - 72 - 16 - legendW;
  const groupW = plotW / Math.max(1, groups.length);
  const longest = Math.max(0, ...groups.map((g) => textWidth(g.label)));
  const rotate = longest > groupW * 0.95;
  const labelH = rotate ? Math.min(longest * 0.5 + 12, height * 0.35) : 18;
  const f: Frame = { left: 72, right: 72 + plotW, top: title ? 40 : 16, bottom: height - 14 - labelH };
  const y = log
    ? logScale(lo, hi, f.bottom, f.top)
    : spacedScale(Math.min(0, lo), Math.max(0, hi), f.bottom, f.top, true, 50);

  const out = header(width, height);
  titleText(out, title, width);
  yAxis(out, f, y, yLabel);
  const base = log ? f.bottom : y.map(0);
  out.push(axisLine(f.left, base, f.right, base));
  if (empty) out.push(noData(f));

  const inner = groupW * 0.8;
  const barW = inner / Math.max(1, names.length);
  groups.forEach((g, gi) => {
    const gx = f.left + gi * groupW + (groupW - inner) / 2;
    out.push(`<g class="group"><title>${escapeXml(g.label)}</title>`);
    for (const v of g.values) {
      const k = names.indexOf(v.name);
      if (!drawable(v.value)) continue;
      const color = PALETTE[k % PALETTE.length];
      const vy = y.map(v.value);
      const top = Math.min(vy, base);
      const h = Math.abs(base - vy);
      const bx = gx + k * barW;
      out.push(
        `<rect x="${n2(bx + barW * 0.06)}" y="${n2(top)}" width="${n2(barW * 0.88)}" height="${n2(h)}" ` +
          `fill="${color}"><title>${escapeXml(`${v.name}: ${formatTick(v.value)}`)}</title></rect>`,
      );
      if (showValues)
        out.push(
          `<text x="${n2(bx + barW / 2)}" y="${n2(top - 4)}" text-anchor="middle" ` +
            `font-size="10" fill="#333333">${escapeXml(formatTick(v.value))}</text>`,
        );
    }
    out.push('</g>');
    const lx = n2(f.left + (gi + 0.5) * groupW);
    const ly = n2(f.bottom + 16);
    out.push(
      rotate
        ? `<text x="${lx}" y="${ly}" text-anchor="end" ` +
            `transform="rotate(-35 ${lx} ${ly})" fill="#333333">${escapeXml(g.label)}</text>`
        : `<text x="${lx}" y="${ly}" text-anchor="middle" fill="#333333">${escapeXml(g.label)}</text>`,
    );
  });
  legend(out, names, f.right + 12, f.top + 8, 'box');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
