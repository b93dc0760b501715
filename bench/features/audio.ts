/**
 * Audio feature benchmark: throughput of the speech path's signal processing on one core (this process's
 * main thread; pin it with `taskset -c 0` for the "one core" figure), each compared with the real-time rate
 * it must sustain:
 *   - real FFT (512 points): our radix-4 vs fft.js, forward and inverse, ns per transform;
 *   - STFT analysis (samples → log power + phase) and ISTFT synthesis (log power + phase → samples), frames/s,
 *     for 512/320 (AVDCNN; real time 50 frames/s), 512/128 (125 frames/s) and 320/160 (100 frames/s);
 *   - the live front end (STFT + running normalisation + t−4..t context), frames/s;
 *   - resampling to 16 kHz from 44.1 kHz (and 48 kHz, 19.98 kHz), input samples/s.
 * Each figure is the median of 5 timed runs of ≥ 200 ms after a warm-up. Input: a committed speech fixture
 * (CMU ARCTIC, 0.5 s) tiled to 10 s plus low-level noise.
 *
 * `benchAudio()` returns the figures; run this file directly to print them as JSON:
 *   node --import tsx bench/features/audio.ts
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createRealFft } from '../../src/streams/features/audio/fft.ts';
import type { FftImplementation } from '../../src/streams/features/audio/fft.ts';
import { SpeechFrontEnd } from '../../src/streams/features/audio/frontend.ts';
import { Resampler } from '../../src/streams/features/audio/resample.ts';
import {
  AVDCNN_STFT,
  LIVE_STFT_320_160,
  LIVE_STFT_512_128,
  StreamingIstft,
  StreamingStft,
  stft,
} from '../../src/streams/features/audio/stft.ts';
import type { StftConfig } from '../../src/streams/features/audio/stft.ts';
import { decodeWav } from '../../src/streams/readers/wav.ts';

const RUNS = 5;
const MIN_RUN_MS = 200;

/** Median over RUNS of (work units per second); `once` does `units` units of work per call. */
function rate(once: () => void, units: number): number {
  for (let i = 0; i < 3; i++) once(); // warm-up (JIT)
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let calls = 0;
    const t0 = process.hrtime.bigint();
    let elapsedNs = 0;
    while (elapsedNs < MIN_RUN_MS * 1e6) {
      once();
      calls++;
      elapsedNs = Number(process.hrtime.bigint() - t0);
    }
    rates.push((calls * units) / (elapsedNs / 1e9));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(RUNS / 2)]!;
}

async function testSignal(seconds: number): Promise<Float32Array> {
  const path = fileURLToPath(
    new URL('../../test/fixtures/readers/arctic-aew-a0001-head.wav', import.meta.url),
  );
  const speech = decodeWav(await readFile(path)).samples;
  const n = 16_000 * seconds;
  const x = new Float32Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    x[i] = speech[i % speech.length]! + 1e-3 * (seed / 2 ** 32 - 0.5);
  }
  return x;
}

function fftFigures(impl: FftImplementation): { forwardNs: number; inverseNs: number } {
  const f = createRealFft(512, impl);
  const x = Float64Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.37) + 0.1 * Math.cos(i * 1.3));
  const re = new Float64Array(257);
  const im = new Float64Array(257);
  const y = new Float64Array(512);
  const batch = 2000;
  const fwd = rate(() => {
    for (let i = 0; i < batch; i++) f.forward(x, re, im);
  }, batch);
  const inv = rate(() => {
    for (let i = 0; i < batch; i++) f.inverse(re, im, y);
  }, batch);
  return { forwardNs: round(1e9 / fwd), inverseNs: round(1e9 / inv) };
}

function round(v: number, digits = 3): number {
  const p = 10 ** Math.max(0, digits - Math.ceil(Math.log10(Math.abs(v) + 1e-300)));
  return Math.round(v * p) / p;
}

function label(cfg: StftConfig): string {
  return `${cfg.windowLength}/${cfg.hop}`;
}

export async function benchAudio(): Promise<Record<string, unknown>> {
  const x = await testSignal(10);
  const out: Record<string, unknown> = {};

  const radix4 = fftFigures('radix4');
  const fftjs = fftFigures('fft.js');
  out['fft512'] = {
    radix4,
    'fft.js': fftjs,
    used: 'radix4',
    note: 'ns per 512-point real transform; the inverse of fft.js needs a full 512-point complex inverse',
  };

  const stftFig: Record<string, unknown> = {};
  const istftFig: Record<string, unknown> = {};
  for (const cfg of [AVDCNN_STFT, LIVE_STFT_512_128, LIVE_STFT_320_160]) {
    const realTime = cfg.sampleRateHz / cfg.hop;
    const spec = stft(x, cfg);
    const analysis = new StreamingStft(cfg);
    const a = rate(() => {
      analysis.push(x);
      analysis.flush();
    }, spec.frames);
    stftFig[label(cfg)] = {
      framesPerS: round(a),
      realTimeFramesPerS: realTime,
      xRealTime: round(a / realTime),
    };
    const synthesis = new StreamingIstft(cfg);
    const bins = spec.bins;
    const s = rate(() => {
      for (let t = 0; t < spec.frames; t++)
        synthesis.push(
          spec.logPower.subarray(t * bins, (t + 1) * bins),
          spec.phase.subarray(t * bins, (t + 1) * bins),
        );
      synthesis.flush();
    }, spec.frames);
    istftFig[label(cfg)] = {
      framesPerS: round(s),
      realTimeFramesPerS: realTime,
      xRealTime: round(s / realTime),
    };
  }
  out['stft'] = stftFig;
  out['istft'] = istftFig;

  const frames = Math.floor(x.length / LIVE_STFT_512_128.hop);
  const fe = rate(() => {
    const f = new SpeechFrontEnd();
    for (let i = 0; i < x.length; i += 160) f.push(x.subarray(i, i + 160));
  }, frames);
  out['liveFrontEnd'] = {
    what: 'STFT 512/128 + running normalisation + t−4..t context, pushed in 10 ms chunks',
    framesPerS: round(fe),
    realTimeFramesPerS: 125,
    xRealTime: round(fe / 125),
  };

  const resampleFig: Record<string, unknown> = {};
  for (const fIn of [44_100, 48_000, 19_980]) {
    const n = fIn * 5;
    const input = Float32Array.from({ length: n }, (_, i) => x[Math.floor((i * 16_000) / fIn)]!);
    const r = new Resampler({ inputRateHz: fIn, outputRateHz: 16_000 });
    const chunk = Math.round(fIn * 0.02);
    const v = rate(() => {
      for (let i = 0; i < n; i += chunk) r.process(input.subarray(i, i + chunk));
      r.flush();
    }, n);
    resampleFig[`${fIn}->16000`] = {
      inputSamplesPerS: round(v),
      realTimeSamplesPerS: fIn,
      xRealTime: round(v / fIn),
      tapsPerPhase: r.design.tapsPerPhase,
      latencyMs: round(r.design.latencySeconds * 1000),
    };
  }
  out['resample'] = resampleFig;
  out['node'] = process.version;
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchAudio(), null, 2));
}
