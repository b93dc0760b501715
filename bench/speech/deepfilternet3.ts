/**
 * DeepFilterNet3 as a peer enhancer for benchmarks and `eval speech`: H. Schröter, A. N. Escalante-B.,
 * T. Rosenkranz, A. Maier, "DeepFilterNet: Perceptually Motivated Real-Time Speech Enhancement",
 * Interspeech 2023 (DeepFilterNet3), run from the official ONNX graphs in `../shared/peers/deepfilternet3`
 * (`enc.onnx`, `erb_dec.onnx`, `df_dec.onnx`, `config.ini`) through ONNX Runtime (`OnnxSession`, one thread).
 *
 * Offline (whole-utterance) path, as the reference `df.enhance.enhance()` with libDF's DSP, re-implemented
 * here from their published definitions (no code taken):
 *   1. 16 kHz → 48 kHz with the project's `Resampler`; the signal is padded with `fft_size` zeros at the end.
 *   2. STFT (libDF `frame_analysis`): FFT 960, hop 480, Vorbis window w[n] = sin(π/2·sin²(π(n+½)/480)),
 *      frame t = window · [previous hop, current hop], spectrum scaled by wnorm = 2·hop/fft² = 1/960.
 *   3. Features. ERB: mean power in 32 bands (libDF `erb_fb`, ≥ 2 bins per band), 10·log10(·+1e-10),
 *      exponential mean normalisation s ← (1−α)·x + α·s, x ← (x − s)/40, s₀ = linspace(−60, −90). Complex:
 *      the lowest nb_df = 96 bins, s ← (1−α)·|X| + α·s, X ← X/√s, s₀ = linspace(0.001, 0.0001). α = 0.99
 *      (exp(−hop/sr/τ) with τ = norm_tau = 1 s, rounded to 3 decimals as `get_norm_alpha` does).
 *   4. `pad_feat`: both features shifted conv_lookahead = 2 frames earlier (zeros after the end), the
 *      network's look-ahead, done outside the exported encoder (DfNet.forward).
 *   5. enc → (e0..e3, emb, c0, lsnr); erb_dec(emb, e3, e2, e1, e0) → m [1,1,T,32] (sigmoid gains);
 *      df_dec(emb, c0) → coefs [1,T,96,10] (order 5 × re/im; the second output, DfDecoder's α, is unused
 *      as in DfNet.forward).
 *   6. ERB gains applied to all 481 bins of the noisy spectrum (each bin gets its band's gain); deep filtering
 *      of the lowest 96 bins of the *unmasked* noisy spectrum: Y[t,f] = Σ_{n=0..4} X[t+n−2, f]·C[t,f,n]
 *      (complex; df_lookahead = 2, zeros outside the utterance), which replaces those bins.
 *   7. ISTFT (libDF `frame_synthesis`): unscaled inverse FFT, Vorbis window, overlap-add; the output is
 *      taken from sample fft_size − hop = 480 (the STFT's delay) for the input's length; 48 → 16 kHz.
 * So the output is aligned with the input (checked by cross-correlation on real speech in the tests).
 *
 * Delay in a live (streaming) use: the output would be 480 samples (10 ms, the STFT) + 2 frames (20 ms, the
 * look-ahead) late at 48 kHz; the algorithmic delay as the DNS Challenge counts it (window + hop +
 * look-ahead) is 20 + 10 + 20 = 50 ms, plus the resamplers' look-ahead. Offline the look-ahead costs nothing.
 * This file has no streaming form: the `*_streaming.onnx` graphs are not used.
 *
 * Run directly for a one-off measurement (RTF, alignment):
 *   node --import tsx bench/speech/deepfilternet3.ts [speech.wav (16 kHz)]
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxSession } from '../../src/models/common/onnx-session.ts';
import type { FloatTensor, OnnxSessionConfig, TensorInfo } from '../../src/models/common/onnx-session.ts';
import { resample } from '../../src/streams/features/audio/resample.ts';

export const DFN3_DIR_DEFAULT = resolve(
  fileURLToPath(new URL('../../../shared/peers/deepfilternet3', import.meta.url)),
);
const IO_RATE_HZ = 16_000;
const MEAN_NORM_INIT: readonly [number, number] = [-60, -90];
const UNIT_NORM_INIT: readonly [number, number] = [0.001, 0.0001];

/** The numbers of `config.ini` this runner uses ([df] and [deepfilternet] sections). */
export interface Dfn3Config {
  readonly sr: number;
  readonly fftSize: number;
  readonly hopSize: number;
  readonly nbErb: number;
  readonly nbDf: number;
  readonly normTau: number;
  readonly minNbErbFreqs: number;
  readonly dfOrder: number;
  readonly dfLookahead: number;
  readonly convLookahead: number;
}

/** Minimal INI reader: section → key → value (comments with # or ;). */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section = new Map<string, string>();
  out.set('', section);
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = new Map();
      out.set(head[1]!.trim(), section);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) section.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

export function readDfn3Config(dir: string): Dfn3Config {
  const ini = parseIni(readFileSync(resolve(dir, 'config.ini'), 'utf8'));
  const num = (section: string, key: string): number => {
    const v = ini.get(section)?.get(key);
    const n = v === undefined ? NaN : Number(v);
    if (!Number.isFinite(n))
      throw new Error(`${dir}/config.ini: [${section}] ${key} missing or not a number`);
    return n;
  };
  return {
    sr: num('df', 'sr'),
    fftSize: num('df', 'fft_size'),
    hopSize: num('df', 'hop_size'),
    nbErb: num('df', 'nb_erb'),
    nbDf: num('df', 'nb_df'),
    normTau: num('df', 'norm_tau'),
    minNbErbFreqs: num('df', 'min_nb_erb_freqs'),
    dfOrder: num('df', 'df_order'),
    dfLookahead: num('df', 'df_lookahead'),
    convLookahead: num('deepfilternet', 'conv_lookahead'),
  };
}

const f32 = Math.fround;
function freq2erb(hz: number): number {
  return f32(9.265 * Math.log1p(f32(hz / f32(24.7 * 9.265))));
}
function erb2freq(erb: number): number {
  return f32(f32(24.7 * 9.265) * f32(Math.exp(f32(erb / 9.265)) - 1));
}

/** Bins per ERB band (libDF `erb_fb`, in f32 as there); sums to fft/2 + 1. */
export function erbWidths(sr: number, fftSize: number, nbBands: number, minNbFreqs: number): number[] {
  const freqWidth = f32(sr / fftSize);
  const low = freq2erb(0);
  const high = freq2erb(sr / 2);
  const step = f32((high - low) / nbBands);
  const widths: number[] = [];
  let prev = 0;
  let over = 0;
  for (let i = 1; i <= nbBands; i++) {
    const f = erb2freq(f32(low + f32(i * step)));
    const fb = Math.round(f / freqWidth); // Rust f32::round: halves away from zero (f ≥ 0 here)
    let nb = fb - prev - over;
    if (nb < minNbFreqs) {
      over = minNbFreqs - nb;
      nb = minNbFreqs;
    } else {
      over = 0;
    }
    widths.push(nb);
    prev = fb;
  }
  widths[nbBands - 1]! += 1;
  const tooLarge = widths.reduce((a, b) => a + b, 0) - (fftSize / 2 + 1);
  if (tooLarge > 0) widths[nbBands - 1]! -= tooLarge;
  return widths;
}

/** α of the exponential normalisations: exp(−hop/sr/τ) rounded as DeepFilterNet's `get_norm_alpha`. */
export function normAlpha(sr: number, hop: number, tau: number): number {
  const a = Math.exp(-hop / sr / tau);
  for (let precision = 3; ; precision++) {
    const r = Math.round(a * 10 ** precision) / 10 ** precision;
    if (r < 1) return r;
  }
}

/** libDF's Vorbis window of `n` samples. */
export function vorbisWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  const half = n / 2;
  for (let i = 0; i < n; i++) {
    const s = Math.sin((0.5 * Math.PI * (i + 0.5)) / half);
    w[i] = Math.sin(0.5 * Math.PI * s * s);
  }
  return w;
}

/**
 * Mixed-radix complex FFT (recursive decimation in time, any size whose factors are small: 960 = 4·4·4·3·5),
 * unscaled both ways: forward sign −1, inverse +1.
 */
export class MixedRadixFft {
  private readonly factors: number[] = [];
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly tRe = new Float64Array(16);
  private readonly tIm = new Float64Array(16);

  constructor(readonly size: number) {
    let n = size;
    for (const p of [4, 2, 3, 5, 7]) {
      while (n % p === 0) {
        this.factors.push(p);
        n /= p;
      }
    }
    if (n !== 1) throw new RangeError(`FFT size ${size} has a prime factor > 7`);
    this.cos = new Float64Array(size);
    this.sin = new Float64Array(size);
    for (let k = 0; k < size; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
  }

  /** out = DFT(in) with e^{sign·2πi·kn/N}; in/out are distinct arrays of `size`. */
  transform(
    inRe: Float64Array,
    inIm: Float64Array,
    outRe: Float64Array,
    outIm: Float64Array,
    sign: -1 | 1,
  ): void {
    this.work(inRe, inIm, 0, 1, outRe, outIm, 0, 0, this.size, sign);
  }

  private work(
    inRe: Float64Array,
    inIm: Float64Array,
    inOff: number,
    stride: number,
    outRe: Float64Array,
    outIm: Float64Array,
    outOff: number,
    fi: number,
    n: number,
    sign: -1 | 1,
  ): void {
    const p = this.factors[fi]!;
    const m = n / p;
    if (m === 1) {
      for (let j = 0; j < p; j++) {
        outRe[outOff + j] = inRe[inOff + j * stride]!;
        outIm[outOff + j] = inIm[inOff + j * stride]!;
      }
    } else {
      for (let j = 0; j < p; j++) {
        this.work(inRe, inIm, inOff + j * stride, stride * p, outRe, outIm, outOff + j * m, fi + 1, m, sign);
      }
    }
    // Butterflies: out[q·m + k] = Σ_j (sub_j[k]·W_n^{jk})·W_p^{jq}, W_n = e^{sign·2πi/n} = table^{stride}.
    const N = this.size;
    const cos = this.cos;
    const sin = this.sin;
    const tRe = this.tRe;
    const tIm = this.tIm;
    for (let k = 0; k < m; k++) {
      for (let j = 0; j < p; j++) {
        const idx = (j * k * stride) % N;
        const c = cos[idx]!;
        const s = sign * sin[idx]!;
        const a = outRe[outOff + j * m + k]!;
        const b = outIm[outOff + j * m + k]!;
        tRe[j] = a * c - b * s;
        tIm[j] = a * s + b * c;
      }
      for (let q = 0; q < p; q++) {
        let re = 0;
        let im = 0;
        for (let j = 0; j < p; j++) {
          const idx = (((j * q) % p) * m * stride) % N;
          const c = cos[idx]!;
          const s = sign * sin[idx]!;
          re += tRe[j]! * c - tIm[j]! * s;
          im += tRe[j]! * s + tIm[j]! * c;
        }
        outRe[outOff + q * m + k] = re;
        outIm[outOff + q * m + k] = im;
      }
    }
  }
}

/** Complex spectrogram: T frames × F bins, re and im row-major. */
export interface ComplexSpec {
  readonly frames: number;
  readonly bins: number;
  readonly re: Float32Array;
  readonly im: Float32Array;
}

/** libDF's STFT (analysis with wnorm, synthesis unscaled, Vorbis window both sides). */
export class Dfn3Stft {
  readonly bins: number;
  private readonly fft: MixedRadixFft;
  private readonly window: Float64Array;
  private readonly wnorm: number;
  private readonly bRe: Float64Array;
  private readonly bIm: Float64Array;
  private readonly cRe: Float64Array;
  private readonly cIm: Float64Array;

  constructor(
    readonly fftSize: number,
    readonly hop: number,
  ) {
    if (2 * hop !== fftSize) throw new RangeError(`STFT: hop ${hop} must be half of ${fftSize}`);
    this.bins = fftSize / 2 + 1;
    this.fft = new MixedRadixFft(fftSize);
    this.window = vorbisWindow(fftSize);
    this.wnorm = 1 / ((fftSize * fftSize) / (2 * hop));
    this.bRe = new Float64Array(fftSize);
    this.bIm = new Float64Array(fftSize);
    this.cRe = new Float64Array(fftSize);
    this.cIm = new Float64Array(fftSize);
  }

  /** Frames t = 0 … floor(len/hop) − 1, frame t over samples (t−1)·hop … (t+1)·hop (zeros before 0). */
  analysis(x: Float32Array): ComplexSpec {
    const { fftSize: N, hop, bins } = this;
    const frames = Math.floor(x.length / hop);
    const re = new Float32Array(frames * bins);
    const im = new Float32Array(frames * bins);
    for (let t = 0; t < frames; t++) {
      const start = (t - 1) * hop;
      for (let i = 0; i < N; i++) {
        const j = start + i;
        this.bRe[i] = j >= 0 ? x[j]! * this.window[i]! : 0;
        this.bIm[i] = 0;
      }
      this.fft.transform(this.bRe, this.bIm, this.cRe, this.cIm, -1);
      for (let k = 0; k < bins; k++) {
        re[t * bins + k] = this.cRe[k]! * this.wnorm;
        im[t * bins + k] = this.cIm[k]! * this.wnorm;
      }
    }
    return { frames, bins, re, im };
  }

  /** Overlap-add synthesis: hop samples per frame (frame t gives samples t·hop … (t+1)·hop − 1). */
  synthesis(spec: ComplexSpec): Float32Array {
    const { fftSize: N, hop, bins } = this;
    const out = new Float32Array(spec.frames * hop);
    const mem = new Float64Array(hop);
    for (let t = 0; t < spec.frames; t++) {
      for (let k = 0; k < bins; k++) {
        this.bRe[k] = spec.re[t * bins + k]!;
        this.bIm[k] = spec.im[t * bins + k]!;
      }
      this.bIm[0] = 0;
      this.bIm[bins - 1] = 0;
      for (let k = bins; k < N; k++) {
        this.bRe[k] = this.bRe[N - k]!;
        this.bIm[k] = -this.bIm[N - k]!;
      }
      this.fft.transform(this.bRe, this.bIm, this.cRe, this.cIm, 1);
      for (let i = 0; i < hop; i++) out[t * hop + i] = this.cRe[i]! * this.window[i]! + mem[i]!;
      for (let i = 0; i < hop; i++) mem[i] = this.cRe[hop + i]! * this.window[hop + i]!;
    }
    return out;
  }
}

export type Dfn3Stage = 'full' | 'erb';

export interface Dfn3Options {
  /** 'full' (ERB gains + deep filtering, default) or 'erb' (ERB gains only, for comparison). */
  readonly stage?: Dfn3Stage;
}

/** DeepFilterNet3 offline enhancer at 16 kHz (see the file comment). */
export class DeepFilterNet3Peer {
  readonly name = 'DeepFilterNet3';
  readonly sampleRateHz = IO_RATE_HZ;
  readonly erbWidths: readonly number[];
  readonly alpha: number;
  private readonly stft: Dfn3Stft;

  private constructor(
    readonly dir: string,
    readonly config: Dfn3Config,
    private readonly enc: OnnxSession,
    private readonly erbDec: OnnxSession,
    private readonly dfDec: OnnxSession,
  ) {
    const c = config;
    if (c.sr !== 48_000) throw new Error(`DeepFilterNet3: sr ${c.sr} (48000 expected)`);
    this.erbWidths = erbWidths(c.sr, c.fftSize, c.nbErb, c.minNbErbFreqs);
    this.alpha = normAlpha(c.sr, c.hopSize, c.normTau);
    this.stft = new Dfn3Stft(c.fftSize, c.hopSize);
  }

  /** True when the model directory has the three graphs and config.ini. */
  static available(dir: string = DFN3_DIR_DEFAULT): boolean {
    return ['enc.onnx', 'erb_dec.onnx', 'df_dec.onnx', 'config.ini'].every((f) =>
      existsSync(resolve(dir, f)),
    );
  }

  static async create(
    dir: string = DFN3_DIR_DEFAULT,
    session: OnnxSessionConfig = {},
  ): Promise<DeepFilterNet3Peer> {
    if (!DeepFilterNet3Peer.available(dir))
      throw new Error(`DeepFilterNet3: enc.onnx, erb_dec.onnx, df_dec.onnx and config.ini needed in ${dir}`);
    const config = readDfn3Config(dir);
    const [enc, erbDec, dfDec] = await Promise.all(
      ['enc.onnx', 'erb_dec.onnx', 'df_dec.onnx'].map((f) => OnnxSession.create(resolve(dir, f), session)),
    );
    return new DeepFilterNet3Peer(dir, config, enc!, erbDec!, dfDec!);
  }

  /** Input and output names and dimensions of the three graphs (as ONNX Runtime reports them). */
  graphs(): Record<
    'enc' | 'erb_dec' | 'df_dec',
    { inputs: readonly TensorInfo[]; outputs: readonly TensorInfo[] }
  > {
    const d = (s: OnnxSession): { inputs: readonly TensorInfo[]; outputs: readonly TensorInfo[] } => ({
      inputs: s.inputs,
      outputs: s.outputs,
    });
    return { enc: d(this.enc), erb_dec: d(this.erbDec), df_dec: d(this.dfDec) };
  }

  async release(): Promise<void> {
    await Promise.all([this.enc.release(), this.erbDec.release(), this.dfDec.release()]);
  }

  /** ERB and complex features of a spectrogram (fresh normalisation states), before `pad_feat`. */
  features(spec: ComplexSpec): { erb: Float32Array; cplx: Float32Array } {
    const { nbErb, nbDf } = this.config;
    const { frames: T, bins: F } = spec;
    const a = this.alpha;
    const erb = new Float32Array(T * nbErb);
    const cplx = new Float32Array(2 * T * nbDf); // [2][T][nbDf]: re plane then im plane
    const meanState = Float64Array.from({ length: nbErb }, (_, i) => {
      return MEAN_NORM_INIT[0] + (i * (MEAN_NORM_INIT[1] - MEAN_NORM_INIT[0])) / (nbErb - 1);
    });
    const unitState = Float64Array.from({ length: nbDf }, (_, i) => {
      return UNIT_NORM_INIT[0] + (i * (UNIT_NORM_INIT[1] - UNIT_NORM_INIT[0])) / (nbDf - 1);
    });
    for (let t = 0; t < T; t++) {
      let bin = 0;
      for (let b = 0; b < nbErb; b++) {
        const w = this.erbWidths[b]!;
        let p = 0;
        for (let j = 0; j < w; j++, bin++) {
          const re = spec.re[t * F + bin]!;
          const im = spec.im[t * F + bin]!;
          p += (re * re + im * im) / w;
        }
        const db = 10 * Math.log10(p + 1e-10);
        meanState[b] = db * (1 - a) + meanState[b]! * a;
        erb[t * nbErb + b] = (db - meanState[b]!) / 40;
      }
      for (let f = 0; f < nbDf; f++) {
        const re = spec.re[t * F + f]!;
        const im = spec.im[t * F + f]!;
        unitState[f] = Math.hypot(re, im) * (1 - a) + unitState[f]! * a;
        const s = Math.sqrt(unitState[f]!);
        cplx[t * nbDf + f] = re / s;
        cplx[(T + t) * nbDf + f] = im / s;
      }
    }
    return { erb, cplx };
  }

  /** Enhances a whole 48 kHz signal; same length and timing as the input. */
  async process48k(x: Float32Array, options: Dfn3Options = {}): Promise<Float32Array> {
    const { fftSize, hopSize, nbErb, nbDf, dfOrder, dfLookahead, convLookahead } = this.config;
    const n = x.length;
    if (n === 0) return new Float32Array(0);
    const padded = new Float32Array(n + fftSize);
    padded.set(x);
    const spec = this.stft.analysis(padded);
    const { frames: T, bins: F } = spec;
    const feats = this.features(spec);
    // pad_feat: feature frame t + convLookahead goes to t (zeros after the end).
    const L = convLookahead;
    const erbIn = new Float32Array(T * nbErb);
    erbIn.set(feats.erb.subarray(L * nbErb));
    const specIn = new Float32Array(2 * T * nbDf);
    for (let c = 0; c < 2; c++)
      specIn.set(feats.cplx.subarray((c * T + L) * nbDf, (c + 1) * T * nbDf), c * T * nbDf);
    const encOut = await this.enc.run({
      feat_erb: { data: erbIn, dims: [1, 1, T, nbErb] },
      feat_spec: { data: specIn, dims: [1, 2, T, nbDf] },
    });
    const get = (r: Record<string, FloatTensor>, k: string): FloatTensor => {
      const v = r[k];
      if (v === undefined) throw new Error(`DeepFilterNet3: output '${k}' missing`);
      return v;
    };
    const emb = get(encOut, 'emb');
    const mask = get(
      await this.erbDec.run({
        emb,
        e3: get(encOut, 'e3'),
        e2: get(encOut, 'e2'),
        e1: get(encOut, 'e1'),
        e0: get(encOut, 'e0'),
      }),
      'm',
    ).data;
    if (mask.length !== T * nbErb)
      throw new Error(`DeepFilterNet3: mask of ${mask.length} values, ${T * nbErb} expected`);
    const outRe = new Float32Array(T * F);
    const outIm = new Float32Array(T * F);
    for (let t = 0; t < T; t++) {
      let bin = 0;
      for (let b = 0; b < nbErb; b++) {
        const g = mask[t * nbErb + b]!;
        for (let j = 0; j < this.erbWidths[b]!; j++, bin++) {
          outRe[t * F + bin] = spec.re[t * F + bin]! * g;
          outIm[t * F + bin] = spec.im[t * F + bin]! * g;
        }
      }
    }
    if ((options.stage ?? 'full') === 'full') {
      const coefs = get(await this.dfDec.run({ emb, c0: get(encOut, 'c0') }), 'coefs').data;
      const O = dfOrder;
      if (coefs.length !== T * nbDf * 2 * O)
        throw new Error(`DeepFilterNet3: coefs of ${coefs.length} values, ${T * nbDf * 2 * O} expected`);
      const back = O - 1 - dfLookahead; // frames before t in the filter (2), after it: dfLookahead (2)
      for (let t = 0; t < T; t++) {
        for (let f = 0; f < nbDf; f++) {
          let re = 0;
          let im = 0;
          const cBase = (t * nbDf + f) * 2 * O;
          for (let o = 0; o < O; o++) {
            const tt = t + o - back;
            if (tt < 0 || tt >= T) continue;
            const xr = spec.re[tt * F + f]!;
            const xi = spec.im[tt * F + f]!;
            const cr = coefs[cBase + 2 * o]!;
            const ci = coefs[cBase + 2 * o + 1]!;
            re += xr * cr - xi * ci;
            im += xr * ci + xi * cr;
          }
          outRe[t * F + f] = re;
          outIm[t * F + f] = im;
        }
      }
    }
    const y = this.stft.synthesis({ frames: T, bins: F, re: outRe, im: outIm });
    const d = fftSize - hopSize; // the STFT's delay
    return y.slice(d, d + n);
  }

  /** Enhances a whole 16 kHz utterance: resampled to 48 kHz and back; same length, aligned. */
  async process(audio16k: Float32Array, options: Dfn3Options = {}): Promise<Float32Array> {
    const x48 = resample(audio16k, IO_RATE_HZ, this.config.sr);
    const y48 = await this.process48k(x48, options);
    return resample(y48, this.config.sr, IO_RATE_HZ);
  }
}

async function main(): Promise<void> {
  const { crossCorrelationLag } = await import('./rnnoise.ts');
  const { readPeerClip } = await import('./clip.ts');
  const { file, samples: x } = await readPeerClip(process.argv[2]);
  const peer = await DeepFilterNet3Peer.create();
  await peer.process(x); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    await peer.process(x);
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  runs.sort((a, b) => a - b);
  const seconds = x.length / IO_RATE_HZ;
  const y = await peer.process(x);
  console.log(
    JSON.stringify(
      {
        file,
        seconds,
        erbWidths: peer.erbWidths,
        alpha: peer.alpha,
        rtfMedian: runs[1]! / seconds,
        lag16k: crossCorrelationLag(x, y, 800),
      },
      null,
      2,
    ),
  );
  await peer.release();
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await main();
}
