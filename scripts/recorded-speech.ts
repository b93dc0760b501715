/**
 * Makes a training-only corpus of recorded (human) speech from a Debian package, for `drivesense train
 * speech --extra-speech DIR`. The project's real speech is ≈ 2 minutes; Tux Paint's stamp collection
 * (`tuxpaint-stamps-default`, GPL-2+, Debian main) carries ≈ 7,400 short spoken descriptions of its stamps,
 * read by volunteers in thirteen languages, about three hours in all. None of its readers is a speaker of
 * the data (CMU ARCTIC aew/axb, Lombard GRID s30–s37, GRID), and the mixer never draws extra speech for
 * validation or test.
 *
 *   node --import tsx scripts/recorded-speech.ts OUT_DIR [--deb FILE.deb]
 *
 * Without `--deb` the package is fetched with `apt-get download` (any user; the archive must be reachable).
 * Each `*_desc[_<lang>].ogg` is decoded to 16 kHz mono (ffmpeg) and kept only when it passes
 * `recordingVerdict`: long enough, not clipped, a noise floor well below the speech (the recordings are
 * targets: their own noise would be taught as speech) and energy above 4 kHz (not band-limited). Writes
 * OUT_DIR/<lang>/<name>.wav (16-bit PCM; one folder per language, the mixer's speaker; `outputName`) and
 * OUT_DIR/MANIFEST.csv with every file's measures and verdict.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { decodeAudio16k, SPEECH_RATE_HZ } from '../src/models/speech/media.ts';
import { writeWavFile } from '../src/streams/readers/wav.ts';
import { csvField } from './synthetic-speech.ts';

const run = promisify(execFile);

const PACKAGE = 'tuxpaint-stamps-default';
const FRAME = 320; // 20 ms at 16 kHz

/** What `recordingVerdict` measures on a 16 kHz recording. */
export interface RecordingMeasures {
  readonly seconds: number;
  /** Share of samples at |x| ≥ 0.999 of full scale. */
  readonly clippedShare: number;
  /** 95th minus 5th percentile of the 20 ms frames' power (dB): speech level over the noise floor. */
  readonly rangeDb: number;
  /** Power above 4 kHz over the whole band in the loudest tenth of frames (dB). */
  readonly highBandDb: number;
}

/** Thresholds a recording must pass (see `recordingVerdict`). */
export interface RecordingLimits {
  readonly minSeconds: number;
  readonly maxSeconds: number;
  readonly maxClippedShare: number;
  readonly minRangeDb: number;
  readonly minHighBandDb: number;
}

export const DEFAULT_LIMITS: RecordingLimits = {
  minSeconds: 0.8,
  maxSeconds: 15,
  maxClippedShare: 1e-3,
  minRangeDb: 35,
  minHighBandDb: -40,
};

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))]!;
}

const HANN = Float64Array.from({ length: FRAME }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / FRAME));
const COS = Float64Array.from({ length: FRAME }, (_, i) => Math.cos((2 * Math.PI * i) / FRAME));
const SIN = Float64Array.from({ length: FRAME }, (_, i) => Math.sin((2 * Math.PI * i) / FRAME));

/** Power above 4 kHz and in all, in one Hann-windowed 20 ms frame (a 320-point DFT, bins 1…159). */
function highBandShare(x: Float32Array, from: number): { high: number; total: number } {
  let high = 0;
  let total = 0;
  for (let k = 1; k < FRAME / 2; k++) {
    let re = 0;
    let im = 0;
    for (let n = 0, i = 0; n < FRAME; n++, i = (i + k) % FRAME) {
      const v = x[from + n]! * HANN[n]!;
      re += v * COS[i]!;
      im -= v * SIN[i]!;
    }
    const p = re * re + im * im;
    total += p;
    if ((k * SPEECH_RATE_HZ) / FRAME >= 4000) high += p;
  }
  return { high, total };
}

/** Measures a 16 kHz mono recording for `recordingVerdict`. */
export function measureRecording(x: Float32Array): RecordingMeasures {
  const seconds = x.length / SPEECH_RATE_HZ;
  let clipped = 0;
  for (const v of x) if (Math.abs(v) >= 0.999) clipped++;
  const frames: { at: number; power: number }[] = [];
  for (let at = 0; at + FRAME <= x.length; at += FRAME) {
    let p = 0;
    for (let i = at; i < at + FRAME; i++) p += x[i]! * x[i]!;
    frames.push({ at, power: p / FRAME });
  }
  if (frames.length < 10)
    return { seconds, clippedShare: clipped / Math.max(1, x.length), rangeDb: 0, highBandDb: -Infinity };
  const db = frames.map((f) => 10 * Math.log10(f.power + 1e-12)).sort((a, b) => a - b);
  const loudest = [...frames]
    .sort((a, b) => b.power - a.power)
    .slice(0, Math.max(1, Math.round(frames.length / 10)));
  let high = 0;
  let total = 0;
  for (const f of loudest) {
    const s = highBandShare(x, f.at);
    high += s.high;
    total += s.total;
  }
  return {
    seconds,
    clippedShare: clipped / x.length,
    rangeDb: percentile(db, 0.95) - percentile(db, 0.05),
    highBandDb: total > 0 ? 10 * Math.log10(high / total + 1e-12) : -Infinity,
  };
}

/** Null when the recording may serve as a clean target, otherwise the first reason it may not. */
export function recordingVerdict(
  m: RecordingMeasures,
  limits: RecordingLimits = DEFAULT_LIMITS,
): string | null {
  if (m.seconds < limits.minSeconds) return `shorter than ${limits.minSeconds} s`;
  if (m.seconds > limits.maxSeconds) return `longer than ${limits.maxSeconds} s`;
  if (m.clippedShare > limits.maxClippedShare) return 'clipped';
  if (!(m.rangeDb >= limits.minRangeDb)) return `noise floor within ${limits.minRangeDb} dB of the speech`;
  if (!(m.highBandDb >= limits.minHighBandDb))
    return `band-limited (above 4 kHz < ${limits.minHighBandDb} dB)`;
  return null;
}

/** The language of a stamp description file (`<stamp>_desc_<lang>.ogg`; no suffix is English), or null. */
export function descriptionLanguage(file: string): string | null {
  const m = /^(.+)_desc(?:_([A-Za-z]{2,3}(?:_[A-Za-z]{2})?))?\.ogg$/.exec(file);
  if (m === null) return null;
  return (m[2] ?? 'en').toLowerCase();
}

async function listDescriptions(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (descriptionLanguage(e.name) !== null) out.push(p);
    }
  };
  await walk(root);
  return out.sort();
}

/**
 * The output file name of a description: its path under the stamps folder with `/` as `-` and without the
 * `_desc[_<lang>]` suffix (`animals/mammals/badger_desc_fr.ogg` → `animals-mammals-badger.wav`). Stamps of the
 * same name live in different folders, so the name alone would collide.
 */
export function outputName(source: string): string {
  const rel = source.replace(/^.*?\/stamps\//, '');
  return `${rel.replace(/_desc(?:_[A-Za-z_]+)?\.ogg$/, '').replace(/\//g, '-')}.wav`;
}

/** `f` over `items` with at most `limit` calls in flight, results in order; logs every 500. */
async function mapLimit<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
      if (++done % 500 === 0) console.log(`${done} of ${items.length} read`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface Outcome {
  readonly lang: string;
  readonly rel: string;
  readonly source: string;
  readonly m: RecordingMeasures;
  readonly verdict: string | null;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { deb: { type: 'string' } } });
  const outDir = positionals[0];
  if (outDir === undefined) throw new Error('usage: recorded-speech.ts OUT_DIR [--deb FILE.deb]');
  const work = await mkdtemp(join(tmpdir(), 'drivesense-recorded-'));
  try {
    let deb = values.deb;
    if (deb === undefined) {
      await run('apt-get', ['download', PACKAGE], { cwd: work });
      const found = (await readdir(work)).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith('.deb'));
      if (found === undefined) throw new Error(`apt-get download ${PACKAGE} wrote no .deb`);
      deb = join(work, found);
    }
    const tree = join(work, 'tree');
    await run('dpkg-deb', ['-x', deb, tree]);
    const files = await listDescriptions(tree);
    const names = new Set<string>();
    // Each recording is decoded, judged and (if kept) written by one worker: no more than four in memory.
    const outcomes = await mapLimit(files, 4, async (path): Promise<Outcome> => {
      const source = path.slice(tree.length + 1);
      const lang = descriptionLanguage(basename(path))!;
      const rel = `${lang}/${outputName(source)}`;
      if (names.has(rel)) throw new Error(`two descriptions would both be written to ${rel}`);
      names.add(rel);
      const x = await decodeAudio16k(path);
      const m = measureRecording(x);
      const verdict = recordingVerdict(m);
      if (verdict === null) {
        await mkdir(join(outDir, lang), { recursive: true });
        await writeWavFile(join(outDir, rel), { sampleRateHz: SPEECH_RATE_HZ, channels: 1, samples: x });
      }
      return { lang, rel, source, m, verdict };
    });
    const rows = ['file,language,source,seconds,clipped_share,range_db,high_band_db,verdict'];
    const kept = new Map<string, { n: number; seconds: number }>();
    const dropped = new Map<string, number>();
    for (const { lang, rel, source, m, verdict } of outcomes) {
      if (verdict === null) {
        const t = kept.get(lang) ?? { n: 0, seconds: 0 };
        kept.set(lang, { n: t.n + 1, seconds: t.seconds + m.seconds });
      } else dropped.set(verdict, (dropped.get(verdict) ?? 0) + 1);
      const fields = [
        verdict === null ? rel : '',
        lang,
        source,
        m.seconds.toFixed(2),
        m.clippedShare.toExponential(2),
        m.rangeDb.toFixed(1),
        m.highBandDb.toFixed(1),
        verdict ?? 'kept',
      ];
      rows.push(fields.map(csvField).join(','));
    }
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'MANIFEST.csv'), `${rows.join('\n')}\n`);
    let n = 0;
    let seconds = 0;
    for (const [lang, t] of [...kept].sort()) {
      console.log(`${lang}: ${t.n} recordings, ${(t.seconds / 60).toFixed(1)} min`);
      n += t.n;
      seconds += t.seconds;
    }
    for (const [why, c] of dropped) console.log(`dropped ${c}: ${why}`);
    console.log(`${n} recordings, ${(seconds / 60).toFixed(1)} min kept of ${files.length} → ${outDir}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
