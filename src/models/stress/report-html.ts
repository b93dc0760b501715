/**
 * Self-contained HTML report for the stress-model evaluation: a pure function from the evaluation result to
 * one HTML document (inline CSS and SVG, no scripts, no external resources). Every string from the input is
 * HTML-escaped; NaN / null / missing values render as "—".
 *
 * Long timelines are downsampled (every k-th estimate, k chosen so at most MAX_TIMELINE_POINTS remain) for
 * the probability and confidence lines; the label and predicted-level step lines additionally keep every
 * index where the level changes, so no change of predicted level is ever dropped.
 */

export type StressReportLevel = 'low' | 'medium' | 'high';

export interface StressEvalRecordResult {
  readonly record: string;
  readonly estimates: number; // scored estimates
  readonly accuracy: number;
  readonly macroF1: number;
  readonly confusion: readonly (readonly number[])[]; // 3x3, rows true low/medium/high, cols predicted
  /** Timeline (s from the record start): one entry per estimate, scored or not. */
  readonly timeline: readonly {
    readonly tS: number;
    readonly label: 'low' | 'medium' | 'high' | null; // null = unlabelled / not scored
    readonly predicted: 'low' | 'medium' | 'high' | null; // null = no estimate (e.g. calibrating)
    readonly probabilities: readonly [number, number, number] | null;
    readonly confidence: number | null;
  }[];
  /** Labelled segments, for shading. */
  readonly segments: readonly {
    readonly name: string;
    readonly level: 'low' | 'medium' | 'high';
    readonly startS: number;
    readonly endS: number;
  }[];
}

export interface StressEvalReport {
  readonly title: string;
  readonly model: {
    readonly name: string;
    readonly file: string;
    readonly config: Readonly<Record<string, unknown>>;
  };
  readonly overall: {
    readonly estimates: number;
    readonly accuracy: number;
    readonly macroF1: number;
    readonly f1: readonly [number, number, number];
    readonly confusion: readonly (readonly number[])[];
  };
  readonly records: readonly StressEvalRecordResult[];
  readonly notes: readonly string[];
  readonly generatedAt: string; // ISO time
}

type TimelinePoint = StressEvalRecordResult['timeline'][number];

const LEVELS: readonly StressReportLevel[] = ['low', 'medium', 'high'];
const LEVEL_COLOUR: Readonly<Record<StressReportLevel, string>> = {
  low: '#2e9d5a',
  medium: '#e0a020',
  high: '#d03030',
};

/** Above this many estimates a timeline is downsampled. */
export const MAX_TIMELINE_POINTS = 2000;
/** Predicted-level dots are drawn only when at most this many predicted points remain. */
const MAX_DOTS = 600;

// ---------------------------------------------------------------- helpers

/** HTML-escape text for element content and (double- or single-quoted) attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const DASH = '—';

function isNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function fmt(x: unknown, digits = 3): string {
  return isNum(x) ? x.toFixed(digits) : DASH;
}

function fmtCount(x: unknown): string {
  if (!isNum(x)) return DASH;
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/** Compact SVG coordinate (one decimal). */
function c(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

function isLevel(x: unknown): x is StressReportLevel {
  return x === 'low' || x === 'medium' || x === 'high';
}

function formatConfigValue(v: unknown): string {
  if (v === undefined) return DASH;
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function' || typeof v === 'symbol') return `[${typeof v}]`;
  let s: string;
  try {
    s =
      JSON.stringify(v, (_k, val: unknown) =>
        typeof val === 'bigint'
          ? String(val)
          : typeof val === 'number' && !Number.isFinite(val)
            ? String(val)
            : val,
      ) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 500 ? `${s.slice(0, 499)}…` : s;
}

function cell(m: readonly (readonly number[])[] | null | undefined, i: number, j: number): number {
  const row = Array.isArray(m) ? m[i] : undefined;
  const v = Array.isArray(row) ? row[j] : undefined;
  return isNum(v) ? v : NaN;
}

/**
 * Indices to keep when drawing a timeline of n points: all of them when n ≤ maxPoints, otherwise every k-th
 * (k = ceil(n / maxPoints)) plus the last, plus every index for which `keep(i)` is true (e.g. a change of
 * predicted level). Sorted ascending, without duplicates.
 */
export function downsampleIndices(
  n: number,
  maxPoints: number = MAX_TIMELINE_POINTS,
  keep?: (i: number) => boolean,
): number[] {
  const out: number[] = [];
  if (!(n > 0)) return out;
  if (n <= maxPoints) {
    for (let i = 0; i < n; i++) out.push(i);
    return out;
  }
  const k = Math.ceil(n / Math.max(1, maxPoints));
  for (let i = 0; i < n; i++) {
    if (i % k === 0 || i === n - 1 || (keep !== undefined && keep(i))) out.push(i);
  }
  return out;
}

/** Indices of a timeline where `key` differs from the previous point (index 0 always counts). */
function changeKeeper<T>(pts: readonly T[], key: (p: T) => unknown): (i: number) => boolean {
  return (i) => {
    if (i === 0) return true;
    const a = pts[i - 1];
    const b = pts[i];
    return a === undefined || b === undefined || key(a) !== key(b);
  };
}

// ---------------------------------------------------------------- confusion heat map

function confusionSvg(
  m: readonly (readonly number[])[],
  cellSize: number,
  cls: string,
  caption: string,
): string {
  const left = 30 + 4.2 * 10 + 8; // "true" + row labels
  const top = 40;
  const w = left + 3 * cellSize + 10;
  const h = top + 3 * cellSize + 10;
  const parts: string[] = [];
  parts.push(
    `<svg class="${cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${c(w)} ${c(h)}" width="${c(w)}" height="${c(h)}" role="img" aria-label="${escapeHtml(caption)}">`,
  );
  parts.push(`<title>${escapeHtml(caption)}</title>`);
  parts.push(
    `<text x="${c(left + 1.5 * cellSize)}" y="12" text-anchor="middle" class="axis-title">predicted</text>`,
  );
  parts.push(
    `<text x="12" y="${c(top + 1.5 * cellSize)}" text-anchor="middle" class="axis-title" transform="rotate(-90 12 ${c(top + 1.5 * cellSize)})">true</text>`,
  );
  for (let j = 0; j < 3; j++) {
    parts.push(
      `<text x="${c(left + (j + 0.5) * cellSize)}" y="${top - 8}" text-anchor="middle" class="tick">${LEVELS[j]}</text>`,
    );
  }
  for (let i = 0; i < 3; i++) {
    let rowSum = 0;
    for (let j = 0; j < 3; j++) {
      const v = cell(m, i, j);
      if (isNum(v) && v > 0) rowSum += v;
    }
    const y = top + i * cellSize;
    parts.push(
      `<text x="${c(left - 6)}" y="${c(y + cellSize / 2 + 4)}" text-anchor="end" class="tick">${LEVELS[i]}</text>`,
    );
    for (let j = 0; j < 3; j++) {
      const v = cell(m, i, j);
      const frac = rowSum > 0 && isNum(v) ? Math.max(0, Math.min(1, v / rowSum)) : NaN;
      const x = left + j * cellSize;
      // White → dark blue by row fraction.
      const fill = isNum(frac)
        ? `rgb(${Math.round(255 - frac * (255 - 33))},${Math.round(255 - frac * (255 - 80))},${Math.round(255 - frac * (255 - 160))})`
        : '#f2f2f2';
      const textFill = isNum(frac) && frac > 0.5 ? '#fff' : '#222';
      const pct = isNum(frac) ? `${(frac * 100).toFixed(0)}%` : DASH;
      const trueL = LEVELS[i] ?? '';
      const predL = LEVELS[j] ?? '';
      parts.push(
        `<g class="cm-cell" data-true="${trueL}" data-predicted="${predL}">` +
          `<rect x="${c(x)}" y="${c(y)}" width="${cellSize}" height="${cellSize}" fill="${fill}" stroke="#999" stroke-width="0.5">` +
          `<title>true ${trueL}, predicted ${predL}: ${fmtCount(v)} (${pct} of row)</title></rect>` +
          `<text class="cm-count" x="${c(x + cellSize / 2)}" y="${c(y + cellSize / 2 + (cellSize >= 50 ? 0 : 4))}" text-anchor="middle" fill="${textFill}">${fmtCount(v)}</text>` +
          (cellSize >= 50
            ? `<text class="cm-pct" x="${c(x + cellSize / 2)}" y="${c(y + cellSize / 2 + 15)}" text-anchor="middle" fill="${textFill}">${pct}</text>`
            : '') +
          `</g>`,
      );
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------- timeline

const TL = {
  width: 1000,
  left: 58,
  right: 14,
  probTop: 18,
  probH: 80,
  levelTop: 116,
  levelH: 96,
  height: 252,
} as const;

function levelY(level: StressReportLevel): number {
  const row = level === 'high' ? 0 : level === 'medium' ? 1 : 2;
  return TL.levelTop + 16 + row * 32;
}

function niceStepMinutes(spanMin: number): number {
  const steps = [0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 480];
  for (const s of steps) if (spanMin / s <= 12) return s;
  return Math.ceil(spanMin / 12 / 480) * 480;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Step path over points (t, level|null), each level holding until the next point's time (or tEnd). */
function stepPath(
  pts: readonly TimelinePoint[],
  idx: readonly number[],
  key: (p: TimelinePoint) => StressReportLevel | null,
  tEnd: number,
  x: (t: number) => number,
  dy: number,
): string {
  let d = '';
  let cur: { y: number; x1: number } | null = null;
  for (let n = 0; n < idx.length; n++) {
    const p = pts[idx[n] ?? -1];
    if (p === undefined) continue;
    const next = pts[idx[n + 1] ?? -1];
    const v = key(p);
    if (v === null) {
      if (cur !== null) d += `H${c(cur.x1)}`;
      cur = null;
      continue;
    }
    const y = levelY(v) + dy;
    const x1 = x(next !== undefined ? next.tS : tEnd);
    if (cur !== null && cur.y === y) {
      cur.x1 = x1;
      continue;
    }
    if (cur !== null) d += `H${c(cur.x1)}V${c(y)}`;
    else d += `M${c(x(p.tS))} ${c(y)}`;
    cur = { y, x1 };
  }
  if (cur !== null) d += `H${c(cur.x1)}`;
  return d;
}

/** Polyline path (implicit lineto) over the finite values; breaks on null/NaN. */
function linePath(
  pts: readonly TimelinePoint[],
  idx: readonly number[],
  value: (p: TimelinePoint) => number | null,
  x: (t: number) => number,
  y: (v: number) => number,
): string {
  let d = '';
  let open = false;
  for (const i of idx) {
    const p = pts[i];
    if (p === undefined) continue;
    const v = value(p);
    if (!isNum(v)) {
      open = false;
      continue;
    }
    const vv = Math.max(0, Math.min(1, v));
    d += `${open ? ' ' : 'M'}${c(x(p.tS))} ${c(y(vv))}`;
    open = true;
  }
  return d;
}

function prob(p: TimelinePoint, k: number): number | null {
  const pr = p.probabilities;
  if (!Array.isArray(pr)) return null;
  const v: unknown = pr[k];
  return isNum(v) ? v : null;
}

function timelineSvg(rec: StressEvalRecordResult, index: number): string {
  const raw: readonly TimelinePoint[] = Array.isArray(rec.timeline) ? rec.timeline : [];
  const pts = raw.filter((p) => p !== null && typeof p === 'object' && isNum(p.tS));
  let sorted = true;
  for (let i = 1; i < pts.length; i++) {
    if ((pts[i]?.tS ?? 0) < (pts[i - 1]?.tS ?? 0)) {
      sorted = false;
      break;
    }
  }
  if (!sorted) pts.sort((a, b) => a.tS - b.tS);
  const segs = (Array.isArray(rec.segments) ? rec.segments : []).filter(
    (s) => s !== null && typeof s === 'object' && isNum(s.startS) && isNum(s.endS) && s.endS > s.startS,
  );

  // Typical spacing (median of up to 1000 diffs) — the duration of the last estimate.
  const diffs: number[] = [];
  const stride = Math.max(1, Math.floor(pts.length / 1000));
  for (let i = stride; i < pts.length; i += stride) {
    const d = (pts[i]?.tS ?? 0) - (pts[i - stride]?.tS ?? 0);
    if (d > 0) diffs.push(d / stride);
  }
  const dt = isNum(median(diffs)) ? median(diffs) : 1;

  let t0 = 0;
  let t1 = -Infinity;
  for (const p of pts) {
    t0 = Math.min(t0, p.tS);
    t1 = Math.max(t1, p.tS + dt);
  }
  for (const s of segs) {
    t0 = Math.min(t0, s.startS);
    t1 = Math.max(t1, s.endS);
  }
  if (!isNum(t1) || t1 <= t0) t1 = t0 + 60;
  const lastT = pts.length > 0 ? (pts[pts.length - 1]?.tS ?? t0) + dt : t1;

  const plotW = TL.width - TL.left - TL.right;
  const x = (t: number): number => TL.left + ((t - t0) / (t1 - t0)) * plotW;
  const yProb = (v: number): number => TL.probTop + TL.probH * (1 - v);
  const bottom = TL.levelTop + TL.levelH;

  const name = typeof rec.record === 'string' ? rec.record : String(rec.record);
  const parts: string[] = [];
  parts.push(
    `<svg class="timeline" data-record-index="${index}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${TL.width} ${TL.height}" width="100%" role="img" aria-label="${escapeHtml(`timeline of ${name}`)}">`,
  );
  parts.push(`<title>${escapeHtml(`Timeline of ${name}`)}</title>`);

  // Segment shading, across both bands, with names in the gap between them.
  for (const s of segs) {
    const xa = Math.max(TL.left, x(s.startS));
    const xb = Math.min(TL.width - TL.right, x(s.endS));
    const w = xb - xa;
    if (!(w > 0)) continue;
    const lv: StressReportLevel = isLevel(s.level) ? s.level : 'low';
    const segName = typeof s.name === 'string' ? s.name : String(s.name);
    parts.push(
      `<rect class="seg seg-${lv}" x="${c(xa)}" y="${TL.probTop}" width="${c(w)}" height="${bottom - TL.probTop}" fill="${LEVEL_COLOUR[lv]}" fill-opacity="0.14">` +
        `<title>${escapeHtml(`${segName} (${lv}, ${fmt(s.startS / 60, 1)}–${fmt(s.endS / 60, 1)} min)`)}</title></rect>`,
    );
    const maxChars = Math.floor((w - 4) / 5.2);
    if (maxChars >= 3) {
      const label = segName.length > maxChars ? `${segName.slice(0, maxChars - 1)}…` : segName;
      parts.push(
        `<text class="seg-name" x="${c(xa + 2)}" y="${TL.probTop + TL.probH + 12}">${escapeHtml(label)}</text>`,
      );
    }
  }

  // Frames, grid and y labels.
  parts.push(
    `<rect x="${TL.left}" y="${TL.probTop}" width="${plotW}" height="${TL.probH}" fill="none" stroke="#bbb" stroke-width="0.6"/>`,
    `<rect x="${TL.left}" y="${TL.levelTop}" width="${plotW}" height="${TL.levelH}" fill="none" stroke="#bbb" stroke-width="0.6"/>`,
    `<path d="M${TL.left} ${c(yProb(0.5))}H${TL.width - TL.right}" stroke="#ddd" stroke-width="0.6" stroke-dasharray="3 3"/>`,
    `<text class="tick" x="${TL.left - 4}" y="${c(yProb(1) + 4)}" text-anchor="end">1</text>`,
    `<text class="tick" x="${TL.left - 4}" y="${c(yProb(0.5) + 4)}" text-anchor="end">0.5</text>`,
    `<text class="tick" x="${TL.left - 4}" y="${c(yProb(0) + 1)}" text-anchor="end">0</text>`,
    `<text class="band-title" x="${TL.left}" y="${TL.probTop - 5}">p(high) <tspan fill="${LEVEL_COLOUR.medium}">p(medium)</tspan> <tspan fill="#777">confidence</tspan></text>`,
  );
  for (const lv of LEVELS) {
    parts.push(
      `<path d="M${TL.left} ${levelY(lv)}H${TL.width - TL.right}" stroke="#eee" stroke-width="0.6"/>`,
      `<text class="tick" x="${TL.left - 4}" y="${levelY(lv) + 4}" text-anchor="end">${lv}</text>`,
    );
  }

  // X axis in minutes.
  const spanMin = (t1 - t0) / 60;
  const step = niceStepMinutes(spanMin);
  const firstTick = Math.ceil(t0 / 60 / step) * step;
  const ticks: string[] = [];
  for (let m = firstTick; m <= t1 / 60 + 1e-9; m += step) {
    const xx = x(m * 60);
    ticks.push(
      `<path d="M${c(xx)} ${bottom}v4" stroke="#666" stroke-width="0.6"/><text class="tick" x="${c(xx)}" y="${bottom + 15}" text-anchor="middle">${Number(m.toFixed(2))}</text>`,
    );
  }
  parts.push(...ticks);
  parts.push(
    `<text class="axis-title" x="${c(TL.left + plotW / 2)}" y="${TL.height - 4}" text-anchor="middle">time (min)</text>`,
  );

  if (pts.length === 0) {
    parts.push(
      `<text class="empty" x="${c(TL.left + plotW / 2)}" y="${c(TL.levelTop + TL.levelH / 2)}" text-anchor="middle">no timeline data</text>`,
    );
    parts.push('</svg>');
    return parts.join('');
  }

  // Downsampling: plain every-k-th for lines; step lines keep every change of their level.
  const lineIdx = downsampleIndices(pts.length);
  const predIdx = downsampleIndices(
    pts.length,
    MAX_TIMELINE_POINTS,
    changeKeeper(pts, (p) => p.predicted),
  );
  const labelIdx = downsampleIndices(
    pts.length,
    MAX_TIMELINE_POINTS,
    changeKeeper(pts, (p) => p.label),
  );

  const asLevel = (v: unknown): StressReportLevel | null => (isLevel(v) ? v : null);
  const labelD = stepPath(pts, labelIdx, (p) => asLevel(p.label), lastT, x, 0);
  const predD = stepPath(pts, predIdx, (p) => asLevel(p.predicted), lastT, x, 6);
  const confD = linePath(pts, lineIdx, (p) => (isNum(p.confidence) ? p.confidence : null), x, yProb);
  const medD = linePath(pts, lineIdx, (p) => prob(p, 1), x, yProb);
  const highD = linePath(pts, lineIdx, (p) => prob(p, 2), x, yProb);

  if (confD)
    parts.push(`<path class="confidence" d="${confD}" fill="none" stroke="#777" stroke-width="0.6"/>`);
  if (medD)
    parts.push(
      `<path class="p-medium" d="${medD}" fill="none" stroke="${LEVEL_COLOUR.medium}" stroke-width="1"/>`,
    );
  if (highD)
    parts.push(
      `<path class="p-high" d="${highD}" fill="none" stroke="${LEVEL_COLOUR.high}" stroke-width="1.3"/>`,
    );
  if (labelD)
    parts.push(`<path class="label-step" d="${labelD}" fill="none" stroke="#222" stroke-width="2"/>`);
  if (predD)
    parts.push(`<path class="pred-step" d="${predD}" fill="none" stroke="#3060c0" stroke-width="1.2"/>`);

  const dotIdx = predIdx.filter((i) => asLevel(pts[i]?.predicted) !== null);
  if (dotIdx.length <= MAX_DOTS) {
    for (const i of dotIdx) {
      const p = pts[i];
      const lv = asLevel(p?.predicted);
      if (p === undefined || lv === null) continue;
      parts.push(
        `<circle class="pred-dot" cx="${c(x(p.tS))}" cy="${levelY(lv) + 6}" r="1.8" fill="${LEVEL_COLOUR[lv]}"/>`,
      );
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------- document

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{margin:1.2em 0 .4em}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.cfg{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;white-space:pre-wrap;word-break:break-all}
.meta{color:#666;font-size:.9em}
svg text{font-size:11px;fill:#333}svg .tick{font-size:10px;fill:#555}svg .axis-title{font-size:11px;fill:#333;font-weight:600}
svg .cm-count{font-size:14px;font-weight:600}svg .cm-pct{font-size:10px}svg .seg-name{font-size:9px;fill:#444}
svg .band-title{font-size:10px;fill:${LEVEL_COLOUR.high}}svg .empty{font-size:13px;fill:#999}
.record{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}.record svg.timeline{flex:1 1 700px;min-width:500px}
.legend span{display:inline-block;margin-right:14px;font-size:.9em}.sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}
`;

function legendHtml(): string {
  const sw = (style: string): string => `<i class="sw" style="${style}"></i>`;
  return (
    `<p class="legend">` +
    LEVELS.map(
      (lv) => `<span>${sw(`background:${LEVEL_COLOUR[lv]};opacity:.3`)}labelled segment: ${lv}</span>`,
    ).join('') +
    `<span>${sw('background:#222;height:3px')}label</span>` +
    `<span>${sw('background:#3060c0;height:2px')}predicted level</span>` +
    `<span>${sw(`background:${LEVEL_COLOUR.high};height:2px`)}p(high)</span>` +
    `<span>${sw(`background:${LEVEL_COLOUR.medium};height:2px`)}p(medium)</span>` +
    `<span>${sw('background:#777;height:1px')}confidence</span>` +
    `</p>`
  );
}

export function renderStressReportHtml(r: StressEvalReport): string {
  const title = typeof r.title === 'string' && r.title !== '' ? r.title : 'Stress model evaluation';
  const model = r.model ?? { name: '', file: '', config: {} };
  const overall = r.overall;
  const records = Array.isArray(r.records) ? r.records : [];
  const notes = Array.isArray(r.notes) ? r.notes : [];
  const out: string[] = [];

  out.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">Generated ${escapeHtml(r.generatedAt ?? '')}</p>`,
  );

  // Model.
  out.push('<h2>Model</h2>', '<table class="model">');
  out.push(`<tr><th>name</th><td>${escapeHtml(model.name ?? '')}</td></tr>`);
  out.push(`<tr><th>file</th><td class="cfg">${escapeHtml(model.file ?? '')}</td></tr>`);
  out.push('</table>');
  const cfg = model.config !== null && typeof model.config === 'object' ? Object.entries(model.config) : [];
  if (cfg.length > 0) {
    out.push('<table class="config"><tr><th>config</th><th>value</th></tr>');
    for (const [k, v] of cfg) {
      out.push(`<tr><td>${escapeHtml(k)}</td><td class="cfg">${escapeHtml(formatConfigValue(v))}</td></tr>`);
    }
    out.push('</table>');
  } else {
    out.push('<p class="meta">No configuration given.</p>');
  }

  // Overall.
  const f1 = Array.isArray(overall?.f1) ? overall.f1 : [];
  out.push('<h2>Overall</h2>', '<table class="overall">');
  out.push(
    '<tr><th>estimates</th><th>accuracy</th><th>macro-F1</th><th>F1 low</th><th>F1 medium</th><th>F1 high</th></tr>',
  );
  out.push(
    `<tr><td class="num">${fmtCount(overall?.estimates)}</td><td class="num">${fmt(overall?.accuracy)}</td>` +
      `<td class="num">${fmt(overall?.macroF1)}</td><td class="num">${fmt(f1[0])}</td>` +
      `<td class="num">${fmt(f1[1])}</td><td class="num">${fmt(f1[2])}</td></tr>`,
  );
  out.push('</table>');
  out.push(
    confusionSvg(overall?.confusion ?? [], 64, 'confusion overall-confusion', 'Overall confusion matrix'),
    '<p class="meta">Confusion matrix: cell counts, shading normalised per true-class row.</p>',
  );

  // Records.
  out.push('<h2>Records</h2>');
  if (records.length === 0) {
    out.push('<p class="meta">No records.</p>');
  } else {
    out.push(
      '<table class="records"><tr><th>record</th><th>estimates</th><th>accuracy</th><th>macro-F1</th><th>timeline points</th><th>segments</th></tr>',
    );
    records.forEach((rec, i) => {
      out.push(
        `<tr><td><a href="#record-${i}">${escapeHtml(rec.record)}</a></td><td class="num">${fmtCount(rec.estimates)}</td>` +
          `<td class="num">${fmt(rec.accuracy)}</td><td class="num">${fmt(rec.macroF1)}</td>` +
          `<td class="num">${Array.isArray(rec.timeline) ? rec.timeline.length : 0}</td>` +
          `<td class="num">${Array.isArray(rec.segments) ? rec.segments.length : 0}</td></tr>`,
      );
    });
    out.push('</table>', legendHtml());
    records.forEach((rec, i) => {
      out.push(
        `<section id="record-${i}"><h3>${escapeHtml(rec.record)}</h3>`,
        `<p class="meta">estimates ${fmtCount(rec.estimates)} · accuracy ${fmt(rec.accuracy)} · macro-F1 ${fmt(rec.macroF1)}</p>`,
        '<div class="record">',
        timelineSvg(rec, i),
        confusionSvg(
          rec.confusion ?? [],
          30,
          'confusion record-confusion',
          `Confusion matrix of ${String(rec.record)}`,
        ),
        '</div></section>',
      );
    });
  }

  // Notes.
  out.push('<h2>Notes</h2>');
  if (notes.length === 0) out.push('<p class="meta">No notes.</p>');
  else out.push('<ul class="notes">', ...notes.map((n) => `<li>${escapeHtml(n)}</li>`), '</ul>');

  out.push('</body></html>', '');
  return out.join('\n');
}
