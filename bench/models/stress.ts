/**
 * Stress inference benchmark: the cost of one live estimate — building the input from the buffered signals
 * (StressInputBuilder.inputsAt: windows, statistics, source checks) plus the committed ONNX model on ONNX
 * Runtime (CPU EP, one thread) — and estimates per second on one core, one vehicle at a time (batch 1) and
 * ten vehicles per run (batch 10).
 *
 * Data: a 20-minute synthetic drive with every source present (HR points, two EDA channels, respiration at
 * 31 Hz, a simulated RAV4 CAN bus through the profile, weather), so every branch and check does its work.
 * Times are wall time per estimate after warm-up (the bench runs pinned to one core, alone), with CPU time
 * beside them.
 *
 * Run alone: `node --import tsx bench/models/stress.ts` prints the JSON.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  simulateDrive,
  simulatedCanFrames,
  simulateWeather,
  weatherMessage,
} from '../../devices/drive-simulator.ts';
import type { CanBatch } from '../../src/streams/contracts/messages.ts';
import { decodeWeather, encodeWeather } from '../../src/streams/contracts/weather.ts';
import { loadCanProfile } from '../../src/streams/features/can/load.ts';
import { StressEstimator } from '../../src/models/stress/estimator.ts';
import type { StressInput } from '../../src/models/stress/inputs.ts';
import { StressInputBuilder } from '../../src/models/stress/inputs.ts';
import { StressMessageSource } from '../../src/models/stress/source.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';

const MODEL = fileURLToPath(new URL('../../src/models/stress/model/stress.onnx', import.meta.url));
const PROFILE = fileURLToPath(new URL('../../devices/profiles/toyota-rav4-2018.json', import.meta.url));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

export async function benchStress(): Promise<Record<string, unknown>> {
  if (!existsSync(MODEL)) return { skipped: `no model at ${MODEL}` };
  const est = await StressEstimator.load(MODEL);
  const profile = await loadCanProfile(PROFILE);
  const t0Us = 1_768_424_400_000_000;
  const durationS = 1200;
  const drive = simulateDrive({
    scenes: [
      { scene: 'rest', durationS: 400 },
      { scene: 'city', durationS: 800 },
    ],
    seed: 3,
    startUs: t0Us,
  });
  const frames = simulatedCanFrames(drive, profile);
  const weather = simulateWeather(3, drive.startUs, drive.endUs).map((w, i) =>
    decodeWeather(encodeWeather(weatherMessage(w, 3, i))),
  );
  const builder = new StressInputBuilder(est.meta.windows);
  const source = new StressMessageSource(builder, { canProfile: profile });
  const rng = new SeededRandom(4);
  const inputs: StressInput[] = [];
  const buildMs: number[] = [];
  let fi = 0;
  let wi = 0;
  for (let s = 0; s < durationS; s++) {
    const tUs = t0Us + s * 1e6;
    const eda = Float32Array.from(
      { length: 31 },
      (_, i) => 5 + 0.5 * Math.sin((s + i / 31) / 20) + 0.01 * rng.next(),
    );
    const foot = Float32Array.from(eda, (v) => v * 1.4);
    const resp = Float32Array.from(
      { length: 31 },
      (_, i) => 40 + 3 * Math.sin((2 * Math.PI * (s + i / 31)) / 4),
    );
    const hr = Float32Array.from({ length: 4 }, () => 75 + 5 * rng.next());
    source.push({
      kind: 'physio',
      sessionId: 1,
      seq: s,
      tUs,
      endUs: tUs + 1e6,
      bytes: 0,
      sampleFormat: 'float32',
      channels: [
        { kind: 'hr', rateHz: 4, samples: hr, nonFinite: 0 },
        { kind: 'eda', rateHz: 31, samples: eda, nonFinite: 0 },
        { kind: 'eda', rateHz: 31, samples: foot, nonFinite: 0 },
        { kind: 'resp', rateHz: 31, samples: resp, nonFinite: 0 },
      ],
    });
    while (wi < weather.length && weather[wi]!.tUs < tUs + 1e6) source.push(weather[wi++]!);
    const start = fi;
    while (fi < frames.length && frames[fi]!.tUs < tUs + 1e6) fi++;
    const batch: CanBatch = {
      kind: 'can',
      sessionId: 1,
      seq: s,
      tUs,
      endUs: tUs + 1e6,
      bytes: 0,
      frames: frames.slice(start, fi),
    };
    source.push(batch);
    const a = performance.now();
    const x = builder.inputsAt(tUs / 1e6 + 1);
    buildMs.push(performance.now() - a);
    if (!('calibrating' in x)) inputs.push(x);
  }
  const calibrated = buildMs.slice(-inputs.length);
  for (let i = 0; i < 20; i++) await est.estimate(inputs[i % inputs.length]!);
  const onnxMs: number[] = [];
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (const x of inputs) {
    const a = performance.now();
    await est.estimate(x);
    onnxMs.push(performance.now() - a);
  }
  const wallS = (performance.now() - w0) / 1000;
  const cpu = process.cpuUsage(c0);
  const batchMs: number[] = [];
  for (let i = 0; i + 10 <= inputs.length; i += 10) {
    const a = performance.now();
    await est.estimateBatch(inputs.slice(i, i + 10));
    batchMs.push(performance.now() - a);
  }
  const total = calibrated.map((b, i) => b + (onnxMs[i] ?? 0));
  const out = {
    model: est.meta.id,
    provider: est.session.describe(),
    estimates: inputs.length,
    sourcesUsed: inputs.at(-1)?.sources,
    inputBuildMs: { p50: round(pct(calibrated, 50)), p99: round(pct(calibrated, 99)) },
    onnxMs: {
      p50: round(pct(onnxMs, 50)),
      p99: round(pct(onnxMs, 99)),
      cpuMsPerEstimate: round((cpu.user + cpu.system) / 1000 / inputs.length),
    },
    perEstimateMs: { p50: round(pct(total, 50)), p99: round(pct(total, 99)) },
    estimatesPerSecondOneCore: Math.round(
      inputs.length / (wallS + calibrated.reduce((a, b) => a + b, 0) / 1000),
    ),
    batch10: {
      p50Ms: round(pct(batchMs, 50)),
      estimatesPerSecond: Math.round((10 * 1000) / pct(batchMs, 50)),
    },
  };
  await est.release();
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  console.log(JSON.stringify(await benchStress(), null, 2));
