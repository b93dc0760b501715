/**
 * Feature-extractor benchmarks, one core: CAN decode (with the candied peer side by side), ECG QRS + HRV,
 * audio STFT/ISTFT/resampling, camera decode + mouth ROI + resize; model runtimes, stress estimates and the speech
 * enhancers' real-time factor (AVDCNN beside logMMSE, RNNoise, DeepFilterNet3). `npm run bench` runs this pinned to CPU 0
 * (taskset) after the ingest runs; alone: `node --import tsx bench/features.ts`.
 * Writes bench/results/features.json and the features section of docs/performance.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

type Result = Record<string, unknown>;
type Bench = () => Promise<Result>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (x, k) => (x !== null && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined),
    o,
  );
const fmt = (v: unknown, digits = 0): string => {
  const n = num(v);
  return n === undefined ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
};

async function load(name: string, file: string, exportName: string): Promise<Bench | undefined> {
  const path = fileURLToPath(new URL(`./features/${file}`, import.meta.url));
  if (!existsSync(path)) return undefined;
  const mod = (await import(path)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw new Error(`${file} does not export ${exportName} (${name})`);
  return fn as Bench;
}

function render(r: Record<string, Result>, date: string, machine: string): string {
  const rows: string[] = [];
  const can = r['can'];
  if (can) {
    rows.push(
      `| CAN decode, all frames of the RAV4 log (generated code) | ${fmt(get(can, 'decodeGenerated', 'framesPerSecond'))} frames/s | ${fmt(get(can, 'busFramesPerSecond'))} frames/s | **${fmt(get(can, 'decodeGenerated', 'ratioToBus'))}×** |`,
      `| CAN profile signals (speed, steering, pedals, gear) | ${fmt(get(can, 'profileExtract', 'framesPerSecond'))} frames/s | ${fmt(get(can, 'busFramesPerSecond'))} frames/s | **${fmt(get(can, 'profileExtract', 'ratioToBus'))}×** |`,
      `| CAN candump text → values, end to end | ${fmt(get(can, 'endToEndTextToValues', 'framesPerSecond'))} frames/s | ${fmt(get(can, 'busFramesPerSecond'))} frames/s | **${fmt(get(can, 'endToEndTextToValues', 'ratioToBus'))}×** |`,
    );
  }
  const ecg = r['ecg'];
  if (ecg) {
    rows.push(
      `| ECG QRS detection + RR + HRV (${fmt(get(ecg, 'hrvWindowS'))} s HRV every second) | ${fmt(get(ecg, 'samplesPerS'))} samples/s | ${fmt(get(ecg, 'realtimeHz'))} samples/s | **${fmt(get(ecg, 'realtimeRatio'))}×** |`,
      `| ECG QRS detection only | ${fmt(get(ecg, 'qrsOnlySamplesPerS'))} samples/s | ${fmt(get(ecg, 'realtimeHz'))} samples/s | **${fmt((num(get(ecg, 'qrsOnlySamplesPerS')) ?? 0) / (num(get(ecg, 'realtimeHz')) ?? 1))}×** |`,
    );
  }
  const audio = r['audio'];
  if (audio) {
    for (const cfg of ['512/320', '512/128']) {
      rows.push(
        `| audio STFT ${cfg} | ${fmt(get(audio, 'stft', cfg, 'framesPerS'))} frames/s | ${fmt(get(audio, 'stft', cfg, 'realTimeFramesPerS'))} frames/s | **${fmt(get(audio, 'stft', cfg, 'xRealTime'))}×** |`,
        `| audio ISTFT ${cfg} | ${fmt(get(audio, 'istft', cfg, 'framesPerS'))} frames/s | ${fmt(get(audio, 'istft', cfg, 'realTimeFramesPerS'))} frames/s | **${fmt(get(audio, 'istft', cfg, 'xRealTime'))}×** |`,
      );
    }
    rows.push(
      `| audio live front end (512/128 STFT + running norm + context) | ${fmt(get(audio, 'liveFrontEnd', 'framesPerS'))} frames/s | ${fmt(get(audio, 'liveFrontEnd', 'realTimeFramesPerS'))} frames/s | **${fmt(get(audio, 'liveFrontEnd', 'xRealTime'))}×** |`,
      `| audio resampling 44.1 → 16 kHz (≥ 80 dB stop band) | ${fmt(get(audio, 'resample', '44100->16000', 'inputSamplesPerS'))} samples/s | 44,100 samples/s | **${fmt(get(audio, 'resample', '44100->16000', 'xRealTime'))}×** |`,
    );
  }
  const camera = r['camera'];
  if (camera) {
    const lines = get(camera, 'rows');
    if (Array.isArray(lines)) {
      for (const l of lines) {
        rows.push(
          `| camera ${String(get(l, 'what'))} | ${fmt(get(l, 'framesPerS'), 1)} frames/s | 30 frames/s | **${fmt(get(l, 'xRealTime'), 1)}×** |`,
        );
      }
    }
  }
  const models = r['models'];
  const modelRows: string[] = [];
  if (models) {
    const steps = get(models, 'trainingSteps');
    if (Array.isArray(steps)) {
      for (const st of steps) {
        modelRows.push(
          `| ${String(get(st, 'op'))} | ${fmt(get(st, 'cpu', 'cpuMs'), 1)} ms | ${fmt(get(st, 'wasm', 'cpuMs'), 1)} ms | **${fmt(get(st, 'speedup'), 1)}×** |`,
        );
      }
    }
    modelRows.push(
      `| whole stress-sized model, ${fmt(get(models, 'stressSizedModelTrainStep', 'parameters'))} parameters | ${fmt(get(models, 'stressSizedModelTrainStep', 'cpu', 'cpuMs'), 1)} ms | ${fmt(get(models, 'stressSizedModelTrainStep', 'wasm', 'cpuMs'), 1)} ms | **${fmt(get(models, 'stressSizedModelTrainStep', 'speedup'), 1)}×** |`,
    );
  }
  const modelSection = models
    ? `
**Model runtime groundwork** (TF.js training step, forward + backward, batch 32, CPU ms per step; wasm with the project's kernels for the gradients TF.js 4.22 lacks or gets wrong):

| step | cpu backend | wasm backend | wasm speed-up |
|---|---|---|---|
${modelRows.join('\n')}

ONNX Runtime inference of the stress-sized model, batch 1, one thread: p50 ${fmt(get(models, 'inference', 'onnxRuntimeCpu1Thread', 'p50Ms'), 2)} ms, p95 ${fmt(get(models, 'inference', 'onnxRuntimeCpu1Thread', 'p95Ms'), 2)} ms (TF.js wasm predict: p50 ${fmt(get(models, 'inference', 'tfjsWasmPredict', 'p50Ms'), 2)} ms).
`
    : '';
  const stress = r['stress'];
  const stressSection =
    stress && get(stress, 'skipped') === undefined
      ? `
**Stress estimates** (committed model ${String(get(stress, 'model'))}, every source present, ${String(get(stress, 'provider'))}): per estimate p50 ${fmt(get(stress, 'perEstimateMs', 'p50'), 2)} ms, p99 ${fmt(get(stress, 'perEstimateMs', 'p99'), 2)} ms (input building p50 ${fmt(get(stress, 'inputBuildMs', 'p50'), 2)} ms, ONNX Runtime p50 ${fmt(get(stress, 'onnxMs', 'p50'), 2)} ms); **${fmt(get(stress, 'estimatesPerSecondOneCore'))} estimates/s on one core** (one vehicle needs 1/s); ten vehicles per ONNX run: ${fmt(get(stress, 'batch10', 'p50Ms'), 2)} ms, ${fmt(get(stress, 'batch10', 'estimatesPerSecond'))} estimates/s.
`
      : '';
  const speech = r['speech'];
  const speechSystems = speech ? get(speech, 'systems') : undefined;
  let speechSection = '';
  if (speech && get(speech, 'skipped') === undefined && Array.isArray(speechSystems)) {
    const yesNo = (v: unknown): string => (v === true ? 'yes' : v === false ? 'no' : 'n/a');
    const lines = speechSystems.map(
      (s: unknown) =>
        `| ${String(get(s, 'label'))} | ${fmt(get(s, 'rtf'), 3)} | ${fmt(get(s, 'xRealTime'), 1)}× | ${fmt(get(s, 'rtfRatioToAvdcnn'), 2)} | ${fmt(get(s, 'algorithmicDelayMs'), 1)} ms | ${yesNo(get(s, 'meetsRtfBudget'))} / ${yesNo(get(s, 'meetsDelayBudget'))} |`,
    );
    const missing = get(speech, 'unavailable');
    const missingLine =
      Array.isArray(missing) && missing.length > 0
        ? `\nNot run: ${missing.map((m: unknown) => `${String(get(m, 'system'))} (${String(get(m, 'reason'))})`).join('; ')}.\n`
        : '';
    const fc = get(speech, 'avdcnn', 'fcUnits');
    const fcText =
      fc !== null && typeof fc === 'object'
        ? `FC ${['fc1', 'fc2', 'fcAudio', 'fcVisual'].map((k) => fmt(get(fc, k))).join('/')}, `
        : '';
    speechSection = `
**Speech enhancement, real-time factor on one core** (${fmt(get(speech, 'clip', 'durationS'))} s of the sample drive's cabin audio from ${fmt(get(speech, 'clip', 'startS'))} s; AVDCNN ${String(get(speech, 'avdcnn', 'id'))}, weights ${String(get(speech, 'avdcnn', 'weights'))}, ${fcText}${fmt(get(speech, 'avdcnn', 'parameters'))} parameters, through the live path in 20 ms chunks on ${String(get(speech, 'avdcnn', 'provider'))}; RTF = processing time / audio duration, median of ${fmt(get(speech, 'systems', '0', 'repetitions'))} passes after a warm-up; ratio = RTF / AVDCNN audio-visual RTF; algorithmic delay = window + hop + look-ahead as the DNS Challenge counts it; budgets RTF ≤ ${fmt(get(speech, 'budget', 'rtf'), 2)}, delay ≤ ${fmt(get(speech, 'budget', 'algorithmicDelayMs'))} ms):

| system | RTF, one core | × real time | ratio to AVDCNN | algorithmic delay | RTF ≤ ${fmt(get(speech, 'budget', 'rtf'), 2)} / delay ≤ ${fmt(get(speech, 'budget', 'algorithmicDelayMs'))} ms |
|---|---|---|---|---|---|
${lines.join('\n')}

The audio-visual run feeds constant mouth crops at 25 fps (timing only). RNNoise and DeepFilterNet3 include the 16 ↔ 48 kHz resampling, whose ${fmt(get(speech, 'resamplerLookaheadMs'), 1)} ms look-ahead is not in their delay; DeepFilterNet3 runs its offline path (the whole clip at once), which flatters its RTF against a streaming run.
${missingLine}`;
  }
  const peer = can ? get(can, 'peer') : undefined;
  const peerLine =
    peer && num(get(peer, 'framesPerSecond')) !== undefined
      ? `\n**Peer, same frames, same run:** candied ${String(get(peer, 'version'))} decodes ${fmt(get(peer, 'framesPerSecond'))} frames/s of the RAV4 log's DBC messages; drivesense decodes the same frames at ${fmt(get(peer, 'oursFramesPerSecondSameFrames'))} frames/s (**${fmt(get(peer, 'speedupOverPeer'), 1)}×**). candied also decodes ${fmt(get(peer, 'steerAngleSensorMismatches'))} of ${fmt(get(peer, 'steerAngleSensorValuesCompared'))} steering-sensor (0x25, Motorola byte order) values differently from drivesense, whose values equal comma's ground truth (test/features/can-ground-truth.test.ts): its big-endian decoding is wrong, as DESIGN.md warns.\n`
      : '';
  return `<!-- features:begin (written by npm run bench; do not edit) -->
Measured ${date} on ${machine}, one core (taskset), one process.

| extractor | measured | real-time rate of one vehicle | × real time |
|---|---|---|---|
${rows.join('\n')}
${peerLine}${modelSection}${stressSection}${speechSection}<!-- features:end -->`;
}

async function main(): Promise<void> {
  const benches: [string, string, string][] = [
    ['can', 'can.ts', 'benchCan'],
    ['ecg', 'ecg.ts', 'benchEcg'],
    ['audio', 'audio.ts', 'benchAudio'],
    ['camera', 'camera.ts', 'benchCamera'],
    ['models', '../models/backends.ts', 'benchBackends'],
    ['stress', '../models/stress.ts', 'benchStress'],
    ['speech', '../models/speech.ts', 'benchSpeech'],
  ];
  const results: Record<string, Result> = {};
  for (const [name, file, fn] of benches) {
    const bench = await load(name, file, fn);
    if (bench === undefined) continue;
    console.error(`features: ${name} …`);
    results[name] = await bench();
  }
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}features.json`, JSON.stringify({ date, machine, results }, null, 2) + '\n');
  const docPath = fileURLToPath(new URL('../docs/performance.md', import.meta.url));
  const doc = await readFile(docPath, 'utf8');
  const section = render(results, date, machine);
  const updated = /<!-- features:begin/.test(doc)
    ? doc.replace(/<!-- features:begin[\s\S]*?<!-- features:end -->/, section)
    : `${doc.trimEnd()}\n\n## Feature extractors\n\n${section}\n`;
  await writeFile(docPath, updated);
  console.error('wrote bench/results/features.json and docs/performance.md');
}

await main();
