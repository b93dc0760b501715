/**
 * Self-contained HTML report of a speech-enhancement evaluation (`eval speech --report FILE.html`): inline
 * CSS, no scripts, no external resources. Tables of the aggregates (means and improvements over the noisy
 * input per SNR × noise category), a per-item table, and spectrograms of a few mixtures (clean, noisy, every
 * system) as PNG images in data URIs.
 *
 * Spectrograms: the project's STFT (`stft.ts`, `LIVE_STFT_512_128`: 32 ms periodic Hann, 8 ms hop, 257 bins
 * to 8 kHz), power in dB, frames averaged (in power) down to at most `SPECTROGRAM_MAX_WIDTH` columns and bins
 * in pairs to 128 rows, low frequencies at the bottom. One colour scale per mixture: the loudest cell of its
 * clean and noisy spectrograms is the top, `SPECTROGRAM_RANGE_DB` below it the bottom, so every system of a
 * mixture is drawn on the same scale. Images are 8-bit indexed PNGs (a 256-entry palette, rows with filter 0,
 * zlib from node:zlib), written by the small encoder here (`encodePng`).
 *
 * Size: images stop being added once they reach `IMAGE_BUDGET_BYTES` (the report says so), which keeps the
 * file under 5 MB whatever the number of systems.
 */
import { deflateSync } from 'node:zlib';
import { LIVE_STFT_512_128, stft } from '../../streams/features/audio/stft.ts';
import type { AggregateRow, ItemResult, MetricMeans, SpeechEvaluation, SystemScores } from './evaluate.ts';

export const SPECTROGRAM_MAX_WIDTH = 360;
export const SPECTROGRAM_HEIGHT = 128;
export const SPECTROGRAM_RANGE_DB = 80;
const IMAGE_BUDGET_BYTES = 4_000_000;

export interface SpeechReportInput {
  readonly title: string;
  readonly evaluation: SpeechEvaluation;
  /** Systems asked for but not run, with the reason. */
  readonly unavailable: readonly { readonly name: string; readonly reason: string }[];
  /** Free-text provenance (data, split, seeds, caveats). */
  readonly notes: readonly string[];
  readonly generatedAt: string;
}

// ---------------------------------------------------------------------------------------------------------
// PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, as PNG uses) of bytes. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * An 8-bit indexed-colour PNG: `pixels` are palette indices, row-major `width × height`; `palette` is
 * RGB triplets (≤ 256 entries).
 */
export function encodePng(
  width: number,
  height: number,
  pixels: Uint8Array,
  palette: Uint8Array,
): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
    throw new RangeError(`PNG: size ${width} × ${height}`);
  if (pixels.length !== width * height)
    throw new RangeError(`PNG: ${pixels.length} pixels for ${width} × ${height}`);
  if (palette.length % 3 !== 0 || palette.length === 0 || palette.length > 768)
    throw new RangeError(`PNG: palette of ${palette.length} bytes`);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 3, 0, 0, 0], 8); // bit depth 8, colour type 3 (indexed), deflate, filter 0, no interlace
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0; // filter: none
    raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', palette),
    chunk('IDAT', new Uint8Array(deflateSync(raw, { level: 9 }))),
    chunk('IEND', new Uint8Array(0)),
  ];
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** 256-colour palette from dark to bright (black → purple → orange → pale yellow, magma-like). */
export function spectrogramPalette(): Uint8Array {
  const stops: readonly [number, number, number, number][] = [
    [0, 0, 0, 4],
    [0.25, 80, 18, 123],
    [0.5, 182, 54, 121],
    [0.75, 251, 136, 97],
    [1, 252, 253, 191],
  ];
  const p = new Uint8Array(768);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    let j = 0;
    while (j < stops.length - 2 && x > stops[j + 1]![0]) j++;
    const a = stops[j]!;
    const b = stops[j + 1]!;
    const t = (x - a[0]) / (b[0] - a[0]);
    for (let c = 0; c < 3; c++) p[i * 3 + c] = Math.round(a[c + 1]! + t * (b[c + 1]! - a[c + 1]!));
  }
  return p;
}

const PALETTE = spectrogramPalette();
const DB_PER_LN = 10 / Math.LN10;

/** Downsampled power spectrogram in dB: `rows × cols`, row 0 = the highest frequencies. */
export function spectrogramDb(
  audio16k: Float32Array,
  maxWidth: number = SPECTROGRAM_MAX_WIDTH,
  rows: number = SPECTROGRAM_HEIGHT,
): { cols: number; rows: number; db: Float32Array } {
  const spec = stft(audio16k, LIVE_STFT_512_128);
  const frames = Math.max(1, spec.frames);
  const cols = Math.min(maxWidth, frames);
  const bins = spec.bins;
  const db = new Float32Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    const f0 = Math.floor((c * frames) / cols);
    const f1 = Math.max(f0 + 1, Math.floor(((c + 1) * frames) / cols));
    for (let r = 0; r < rows; r++) {
      const b0 = Math.floor((r * bins) / rows);
      const b1 = Math.max(b0 + 1, Math.floor(((r + 1) * bins) / rows));
      let p = 0;
      let n = 0;
      for (let f = f0; f < Math.min(f1, spec.frames); f++)
        for (let b = b0; b < b1; b++) {
          p += Math.exp(spec.logPower[f * bins + b]!);
          n++;
        }
      db[(rows - 1 - r) * cols + c] = n > 0 ? DB_PER_LN * Math.log(p / n + 1e-12) : -240;
    }
  }
  return { cols, rows, db };
}

/** PNG of a dB map with `topDb` as the brightest colour and `topDb − rangeDb` as black. */
export function spectrogramPng(
  map: { cols: number; rows: number; db: Float32Array },
  topDb: number,
  rangeDb: number = SPECTROGRAM_RANGE_DB,
): Uint8Array {
  const px = new Uint8Array(map.db.length);
  for (let i = 0; i < px.length; i++) {
    const x = (map.db[i]! - (topDb - rangeDb)) / rangeDb;
    px[i] = Math.round(255 * Math.min(1, Math.max(0, x)));
  }
  return encodePng(map.cols, map.rows, px, PALETTE);
}

// ---------------------------------------------------------------------------------------------------------
// HTML

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function num(v: number | null | undefined, digits: number, signed = false): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = v.toFixed(digits);
  return signed && v >= 0 ? `+${s}` : s;
}

function deltaCell(v: number | null | undefined, digits: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '<td>—</td>';
  const cls = v > 0 ? 'up' : v < 0 ? 'down' : '';
  return `<td class="${cls}">${num(v, digits, true)}</td>`;
}

function groupTitle(r: AggregateRow): string {
  const snr = r.snrDb === null ? 'Ready pairs (SNR not controlled)' : `SNR ${r.snrDb} dB`;
  const cat = r.category === 'all' ? 'all noise categories' : `noise: ${r.category}`;
  const sub = r.subset === 'av' ? ' — items with mouth frames only' : '';
  return `${snr}, ${cat}${sub}`;
}

function aggregateTables(e: SpeechEvaluation): string {
  const dn = e.dnsmos;
  const head =
    '<tr><th>system</th><th>n</th><th>STOI</th><th>ESTOI</th><th>SI-SDR dB</th><th>segSNR dB</th>' +
    (dn ? '<th>SIG</th><th>BAK</th><th>OVRL</th><th>P.808</th>' : '') +
    '<th>RTF</th><th>ΔSTOI</th><th>ΔESTOI</th><th>ΔSI-SDR</th><th>ΔsegSNR</th>' +
    (dn ? '<th>ΔOVRL</th>' : '') +
    '</tr>';
  const blocks = new Map<string, AggregateRow[]>();
  for (const r of e.aggregates) {
    const k = `${r.snrDb}|${r.category}|${r.subset}`;
    const list = blocks.get(k) ?? [];
    list.push(r);
    blocks.set(k, list);
  }
  const out: string[] = [];
  for (const rows of blocks.values()) {
    const first = rows[0]!;
    const clean =
      first.cleanOvrl !== null
        ? ` <span class="muted">(clean reference OVRL ${num(first.cleanOvrl, 2)})</span>`
        : '';
    out.push(`<h3>${escapeHtml(groupTitle(first))}${clean}</h3><table>${head}`);
    for (const r of rows) {
      const m: MetricMeans = r.mean;
      const d = r.improvement;
      out.push(
        `<tr${r.system === 'noisy' ? ' class="base"' : ''}><td>${escapeHtml(r.system)}</td><td>${r.n}</td>` +
          `<td>${num(m.stoi, 3)}</td><td>${num(m.estoi, 3)}</td><td>${num(m.siSdr, 2)}</td><td>${num(m.segSnr, 2)}</td>` +
          (dn
            ? `<td>${num(m.sig, 2)}</td><td>${num(m.bak, 2)}</td><td>${num(m.ovrl, 2)}</td><td>${num(m.p808, 2)}</td>`
            : '') +
          `<td>${num(r.rtf, 4)}</td>` +
          deltaCell(d?.stoi, 3) +
          deltaCell(d?.estoi, 3) +
          deltaCell(d?.siSdr, 2) +
          deltaCell(d?.segSnr, 2) +
          (dn ? deltaCell(d?.ovrl, 2) : '') +
          '</tr>',
      );
    }
    out.push('</table>');
  }
  return out.join('\n');
}

function scoreLine(s: SystemScores | undefined, dn: boolean): string {
  if (s === undefined) return 'not run';
  const parts = [`STOI ${num(s.stoi, 3)}`, `ESTOI ${num(s.estoi, 3)}`, `SI-SDR ${num(s.siSdr, 1)} dB`];
  if (dn) parts.push(`OVRL ${num(s.dnsmos?.ovrl, 2)}`);
  return parts.join(' · ');
}

function itemTable(e: SpeechEvaluation): string {
  const dn = e.dnsmos;
  const rows = e.items.map((it) => {
    const cells = e.systems.map((name) => {
      const s = it.systems[name];
      if (s === undefined) return '<td class="muted">—</td>';
      const err = s.errors.length > 0 ? ` title="${escapeHtml(s.errors.join('; '))}"` : '';
      return `<td${err}>${num(s.stoi, 3)} / ${num(s.siSdr, 1)}${dn ? ` / ${num(s.dnsmos?.ovrl, 2)}` : ''}${s.errors.length > 0 ? ' ⚠' : ''}</td>`;
    });
    return (
      `<tr><td>${escapeHtml(it.utterance)}</td><td>${escapeHtml(it.category)}</td><td>${escapeHtml(it.noise ?? '—')}</td><td>${it.noiseStart ?? '—'}</td>` +
      `<td>${it.snrDb === null ? '—' : it.snrDb}</td><td>${num(it.inputSnrDb, 1)}</td><td>${it.hasVideo ? 'yes' : ''}</td>${cells.join('')}</tr>`
    );
  });
  return (
    `<details><summary>Per mixture (${e.items.length}): STOI / SI-SDR dB${dn ? ' / DNSMOS OVRL' : ''} per system</summary>` +
    `<table><tr><th>utterance</th><th>category</th><th>noise</th><th>noise offset</th><th>SNR</th><th>measured SNR</th><th>video</th>` +
    e.systems.map((s) => `<th>${escapeHtml(s)}</th>`).join('') +
    `</tr>${rows.join('\n')}</table></details>`
  );
}

function figure(label: string, png: Uint8Array, caption: string): string {
  const src = `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
  return (
    `<figure><img src="${src}" alt="${escapeHtml(`spectrogram: ${label}`)}">` +
    `<figcaption><b>${escapeHtml(label)}</b><br>${escapeHtml(caption)}</figcaption></figure>`
  );
}

function examples(e: SpeechEvaluation): { html: string; dropped: number } {
  const out: string[] = [];
  let bytes = 0;
  let dropped = 0;
  for (const k of e.kept) {
    const item: ItemResult | undefined = e.items.find((i) => i.id === k.id);
    if (item === undefined) continue;
    const clean = spectrogramDb(k.clean);
    const noisy = spectrogramDb(k.noisy);
    let top = -Infinity;
    for (const m of [clean, noisy]) for (const v of m.db) if (v > top) top = v;
    const figs: string[] = [];
    const add = (label: string, map: ReturnType<typeof spectrogramDb>, caption: string): void => {
      const png = spectrogramPng(map, top);
      const size = Math.ceil((png.length * 4) / 3);
      if (bytes + size > IMAGE_BUDGET_BYTES) {
        dropped++;
        return;
      }
      bytes += size;
      figs.push(figure(label, png, caption));
    };
    add('clean', clean, 'reference');
    add('noisy', noisy, scoreLine(item.systems['noisy'], e.dnsmos));
    for (const name of e.systems) {
      const y = k.outputs[name];
      if (name === 'noisy' || y === undefined) continue;
      add(name, spectrogramDb(y), scoreLine(item.systems[name], e.dnsmos));
    }
    const snr = item.snrDb === null ? `measured SNR ${num(item.inputSnrDb, 1)} dB` : `${item.snrDb} dB`;
    out.push(
      `<h3>${escapeHtml(item.utterance)} + ${escapeHtml(item.noise ?? 'noise')} (${escapeHtml(item.category)}, ${escapeHtml(snr)}${item.hasVideo ? ', with mouth frames' : ''})</h3>` +
        `<div class="figs">${figs.join('')}</div>`,
    );
  }
  return { html: out.join('\n'), dropped };
}

/** The report as one HTML document (see the file comment). */
export function renderSpeechReportHtml(input: SpeechReportInput): string {
  const e = input.evaluation;
  const ex = examples(e);
  const unavailable =
    input.unavailable.length > 0
      ? `<h2>Systems not run</h2><ul>${input.unavailable.map((u) => `<li><b>${escapeHtml(u.name)}</b>: ${escapeHtml(u.reason)}</li>`).join('')}</ul>`
      : '';
  const notes = [
    ...input.notes,
    ...(ex.dropped > 0 ? [`${ex.dropped} spectrogram(s) left out to keep the report small.`] : []),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(input.title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:.3em 0 1em}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#f2f2f2}
td:first-child,th:first-child{text-align:left}
tr.base td{background:#fafafa;color:#555}
td.up{color:#16703a}td.down{color:#b02020}
.muted{color:#888;font-weight:normal}
.figs{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0}figure img{display:block;image-rendering:pixelated;border:1px solid #ccc}
figcaption{font-size:12px;max-width:${SPECTROGRAM_MAX_WIDTH}px}
</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<p class="muted">Generated ${escapeHtml(input.generatedAt)}. Systems: ${e.systems.map(escapeHtml).join(', ')}. ${e.items.length} mixture(s). DNSMOS: ${e.dnsmos ? 'yes' : 'not computed'}.</p>
<h2>Notes</h2>
<ul>${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
${unavailable}
<h2>Means and improvements over the noisy input</h2>
<p class="muted">Δ = mean of (system − noisy) over the same mixtures. RTF = processing time / audio duration in this process (one thread, a shared machine).</p>
${aggregateTables(e)}
<h2>Spectrograms</h2>
<p class="muted">0–8 kHz, ${SPECTROGRAM_RANGE_DB} dB range per mixture (same scale for all its panels), STFT 32 ms / 8 ms.</p>
${ex.html || '<p>No mixtures kept.</p>'}
<h2>Mixtures</h2>
${itemTable(e)}
</body>
</html>
`;
}
