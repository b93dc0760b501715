/**
 * `eval speech` (src/models/speech/evaluate.ts, report-html.ts, src/cli/commands/eval-speech.ts): synthetic
 * clean/noisy pairs written as WAVs in a temp dir (tone bursts + white noise), systems that cannot run, the
 * HTML report (its PNG spectrograms decoded back), and one real 0 dB car-interior mixture from the TEST split
 * of ../shared (skipped when absent). DNSMOS is left out here (tested in speech-dnsmos.test.ts) to keep the
 * run short.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { SeededRandom } from '../../src/models/common/rng.ts';
import type { AlignedMouth } from '../../src/models/speech/corpus.ts';
import { prepareSpeechData } from '../../src/models/speech/dataset.ts';
import {
  evaluateSpeech,
  logMmseSystem,
  idealMaskSystem,
  noisySystem,
  pickExamples,
  textTable,
} from '../../src/models/speech/evaluate.ts';
import type { EvalItem, SpeechSystem } from '../../src/models/speech/evaluate.ts';
import { crc32, encodePng, renderSpeechReportHtml } from '../../src/models/speech/report-html.ts';
import { splitOfUtterance } from '../../src/models/speech/splits.ts';
import { createEvalSpeechCommand, servingInfo } from '../../src/cli/commands/eval-speech.ts';
import type { AvdcnnLoader, AvdcnnServing } from '../../src/cli/commands/eval-speech.ts';
import { parseCommandArgs, UsageError } from '../../src/cli/command.ts';
import { writeWavFile } from '../../src/streams/readers/wav.ts';
import { SERVING_NONE } from '../../src/models/speech/mask/settings.ts';
import { SHARED_SKIP, shared } from '../readers/shared-data.ts';

const FS = 16_000;
const METRICS = ['stoi', 'estoi', 'siSdr', 'segSnr'] as const;

/** Harmonic tone bursts (200 ms on, 100 ms off) with a slow pitch glide: speech-like envelopes. */
function toneBursts(seconds: number, rateHz: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  const n = Math.round(seconds * rateHz);
  const x = new Float32Array(n);
  const f0 = 120 + rng.uniform(0, 80);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rateHz;
    const inBurst = t >= 0.3 && t % 0.3 < 0.2; // 0.3 s of silence first, as in recorded utterances
    const env = inBurst ? Math.sin((Math.PI * (t % 0.3)) / 0.2) : 0;
    phase += (2 * Math.PI * f0 * (1 + 0.2 * Math.sin(2 * Math.PI * 0.7 * t))) / rateHz;
    let v = 0;
    for (let h = 1; h <= 12; h++) v += Math.sin(h * phase) / h;
    x[i] = 0.15 * env * v;
  }
  return x;
}

function whiteNoise(n: number, rms: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => rms * rng.normal());
}

function rmsOf(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

interface Captured {
  code: number;
  out: string[];
}

async function runCli(argv: string[], loadAvdcnn?: AvdcnnLoader): Promise<Captured> {
  const out: string[] = [];
  const cmd = createEvalSpeechCommand({
    out: (t) => out.push(t),
    progress: () => {},
    ...(loadAvdcnn !== undefined ? { loadAvdcnn } : {}),
  });
  const code = await cmd.run(parseCommandArgs(cmd, argv));
  return { code, out };
}

interface JsonOut {
  data: {
    kind: string;
    split?: string;
    utterances?: string[];
    noiseSpans?: { start: number; end: number }[];
  };
  systems: { run: string[]; unavailable: { name: string; reason: string }[] };
  aggregates: {
    system: string;
    snrDb: number | null;
    category: string;
    n: number;
    mean: Record<string, number | null>;
    improvement: Record<string, number | null> | null;
    rtf: number | null;
  }[];
  items: {
    id: string;
    utterance: string;
    category: string;
    snrDb: number | null;
    noiseStart: number | null;
    systems: Record<string, Record<string, unknown> & { errors: string[]; rtf: number | null }>;
  }[];
  notes: string[];
}

let dir: string;

describe('eval speech on synthetic pairs', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'speech-eval-'));
    await mkdir(join(dir, 'clean'));
    await mkdir(join(dir, 'noisy'));
    for (const [name, seed, rateHz] of [
      ['a', 1, FS],
      ['b', 2, 48_000],
    ] as const) {
      const clean = toneBursts(2, rateHz, seed);
      const noise = whiteNoise(clean.length, rmsOf(clean) / Math.sqrt(10 ** 0.5), seed + 10); // 5 dB
      const noisy = clean.map((v, i) => v + noise[i]!);
      await writeWavFile(
        join(dir, 'clean', `${name}.wav`),
        { sampleRateHz: rateHz, channels: 1, samples: clean },
        'float32',
      );
      await writeWavFile(
        join(dir, 'noisy', `${name}.wav`),
        { sampleRateHz: rateHz, channels: 1, samples: noisy },
        'float32',
      );
    }
    const same = toneBursts(2, FS, 3);
    for (const sub of ['clean', 'noisy'])
      await writeWavFile(
        join(dir, sub, 'same.wav'),
        { sampleRateHz: FS, channels: 1, samples: same },
        'float32',
      );
    await writeWavFile(join(dir, 'noisy', 'orphan.wav'), { sampleRateHz: FS, channels: 1, samples: same });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--json has every metric for noisy and logmmse; an identical pair scores STOI ≈ 1', async () => {
    const r = await runCli([
      '--clean',
      join(dir, 'clean'),
      '--noisy',
      join(dir, 'noisy'),
      '--systems',
      'noisy,logmmse',
      '--no-dnsmos',
      '--json',
    ]);
    assert.equal(r.code, 0);
    assert.equal(r.out.length, 1);
    const j = JSON.parse(r.out[0]!) as JsonOut;
    assert.equal(j.data.kind, 'pairs');
    assert.deepEqual(j.systems.run, ['noisy', 'logmmse']);
    assert.deepEqual(j.items.map((i) => i.id).sort(), ['a', 'b', 'same']);
    for (const it of j.items) {
      assert.equal(it.snrDb, null);
      for (const s of ['noisy', 'logmmse']) {
        const m = it.systems[s]!;
        for (const k of METRICS)
          assert.equal(typeof m[k], 'number', `${it.id} ${s} ${k}: ${m.errors.join('; ')}`);
        assert.deepEqual(m.errors, []);
      }
      assert.equal(it.systems['noisy']!.rtf, null);
      assert.ok((it.systems['logmmse']!.rtf ?? -1) > 0);
    }
    const same = j.items.find((i) => i.id === 'same')!;
    assert.ok(Math.abs((same.systems['noisy']!['stoi'] as number) - 1) < 1e-6);
    assert.ok(Math.abs((same.systems['noisy']!['estoi'] as number) - 1) < 1e-6);
    assert.ok((same.systems['noisy']!['siSdr'] as number) > 100);
    const a = j.items.find((i) => i.id === 'a')!;
    const inSdr = a.systems['noisy']!['siSdr'] as number;
    assert.ok(inSdr > 3 && inSdr < 7, `noisy SI-SDR ${inSdr} dB`);
    // logMMSE against white noise at 5 dB: SI-SDR goes up.
    const gain = (a.systems['logmmse']!['siSdr'] as number) - (a.systems['noisy']!['siSdr'] as number);
    assert.ok(gain > 0, `logMMSE SI-SDR gain ${gain} dB`);
    const agg = j.aggregates.filter((g) => g.snrDb === null && g.category === 'unknown');
    assert.deepEqual(
      agg.map((g) => g.system),
      ['noisy', 'logmmse'],
    );
    assert.equal(agg[0]!.improvement, null);
    assert.equal(typeof agg[1]!.improvement?.['siSdr'], 'number');
    assert.equal(agg[1]!.n, 3);
    assert.ok(j.notes.some((n) => n.includes('orphan')));
  });

  it('--paired-with: every other system against the reference on the same items, as JSON and text', async () => {
    const base = ['--clean', join(dir, 'clean'), '--noisy', join(dir, 'noisy'), '--no-dnsmos'];
    const r = await runCli([
      ...base,
      '--systems',
      'noisy,logmmse,ideal-mask',
      '--paired-with',
      'logmmse',
      '--json',
    ]);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out[0]!) as JsonOut & {
      paired: {
        system: string;
        reference: string;
        metrics: Record<string, { n: number; meanDiff: number } | null>;
      }[];
    };
    assert.deepEqual(
      j.paired.map((p) => `${p.system}-${p.reference}`),
      ['ideal-mask-logmmse'],
      'the noisy input and the reference itself are not compared',
    );
    const d = j.items.map(
      (i) => (i.systems['ideal-mask']!['siSdr'] as number) - (i.systems['logmmse']!['siSdr'] as number),
    );
    const siSdr = j.paired[0]!.metrics['siSdr']!;
    assert.equal(siSdr.n, 3);
    assert.ok(Math.abs(siSdr.meanDiff - d.reduce((a, b) => a + b, 0) / 3) < 1e-9);
    assert.equal(j.paired[0]!.metrics['ovrl'], null, 'no DNSMOS, no OVRL comparison');
    const text = (
      await runCli([...base, '--systems', 'noisy,logmmse,ideal-mask', '--paired-with', 'logmmse'])
    ).out.join('\n');
    assert.match(text, /paired against logmmse/);
    assert.match(text, /^ideal-mask\s+SI-SDR \(dB\)\s+3\s/m);
    // Without RNNoise among the systems there is no default reference.
    const none = JSON.parse((await runCli([...base, '--systems', 'noisy,logmmse', '--json'])).out[0]!) as {
      paired: unknown[];
    };
    assert.deepEqual(none.paired, []);
    await assert.rejects(
      runCli([...base, '--systems', 'noisy,logmmse', '--paired-with', 'rnnoise']),
      /--paired-with: 'rnnoise' is not among the systems requested \(noisy, logmmse\), or 'none'/,
    );
    // RNNoise runs: it is the default reference in the JSON; the text shows the comparison only when asked.
    const withRnnoise = [...base, '--systems', 'noisy,logmmse,rnnoise'];
    const byDefault = JSON.parse((await runCli([...withRnnoise, '--json'])).out[0]!) as JsonOut & {
      paired: { system: string; reference: string }[];
    };
    assert.deepEqual(
      byDefault.paired.map((p) => `${p.system}-${p.reference}`),
      ['logmmse-rnnoise'],
    );
    assert.doesNotMatch((await runCli(withRnnoise)).out.join('\n'), /paired against/);
    const off = JSON.parse((await runCli([...withRnnoise, '--paired-with', 'none', '--json'])).out[0]!) as {
      paired: unknown[];
    };
    assert.deepEqual(off.paired, []);
    // A reference requested but not run (DeepFilterNet3 without its files) is named in the notes.
    const missing = JSON.parse(
      (
        await runCli([
          ...base,
          '--systems',
          'noisy,logmmse,dfn3',
          '--dfn3',
          join(dir, 'no-such-dir'),
          '--paired-with',
          'dfn3',
          '--json',
        ])
      ).out[0]!,
    ) as JsonOut & { paired: unknown[] };
    assert.deepEqual(missing.paired, []);
    assert.ok(
      missing.notes.some((n) => /--paired-with dfn3: it did not run/.test(n)),
      missing.notes.join('; '),
    );
  });

  it('text output is a table with the systems', async () => {
    const r = await runCli([
      '--clean',
      join(dir, 'clean'),
      '--noisy',
      join(dir, 'noisy'),
      '--systems',
      'noisy,logmmse',
      '--no-dnsmos',
    ]);
    assert.equal(r.code, 0);
    const text = r.out.join('\n');
    assert.match(text, /ready pairs/);
    assert.match(text, /^logmmse\s+3\s+\d\.\d{3}/m);
    assert.match(text, /STOI/);
  });

  it('lists systems that cannot run, with the reason', async () => {
    const r = await runCli([
      '--clean',
      join(dir, 'clean'),
      '--noisy',
      join(dir, 'noisy'),
      '--limit',
      '1',
      '--systems',
      'noisy,dfn3,avdcnn-audio,avdcnn-av',
      '--dfn3',
      join(dir, 'no-dfn3'),
      '--model',
      join(dir, 'missing.onnx'),
      '--no-dnsmos',
      '--json',
    ]);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out[0]!) as JsonOut;
    assert.deepEqual(j.systems.run, ['noisy']);
    const reasons = Object.fromEntries(j.systems.unavailable.map((u) => [u.name, u.reason]));
    assert.match(reasons['dfn3']!, /not found/);
    assert.match(reasons['avdcnn-audio']!, /missing\.onnx not found/);
    assert.match(reasons['avdcnn-av']!, /not found/);
  });

  it('wires an injected AVDCNN when the model file exists; AV mode needs mouth frames; loader errors are reported', async () => {
    const model = join(dir, 'fake.onnx');
    await writeFile(model, 'not a model');
    let loaded = 0;
    let released = 0;
    const loader: AvdcnnLoader = (file) => {
      loaded++;
      assert.equal(file, model);
      return Promise.resolve({
        enhance: (x: Float32Array) => Promise.resolve(x.map((v) => 0.5 * v)),
        release: () => {
          released++;
          return Promise.resolve();
        },
      });
    };
    const base = [
      '--clean',
      join(dir, 'clean'),
      '--noisy',
      join(dir, 'noisy'),
      '--limit',
      '1',
      '--no-dnsmos',
      '--json',
    ];
    const r = await runCli([...base, '--systems', 'noisy,avdcnn-audio,avdcnn-av', '--model', model], loader);
    const j = JSON.parse(r.out[0]!) as JsonOut;
    assert.deepEqual(j.systems.run, ['noisy', 'avdcnn-audio']);
    assert.equal(loaded, 1);
    assert.equal(released, 1);
    assert.match(j.systems.unavailable.find((u) => u.name === 'avdcnn-av')!.reason, /mouth frames/);
    // Scale-invariant: a scaled copy of the noisy input has the noisy input's SI-SDR.
    const it = j.items[0]!;
    assert.ok(
      Math.abs((it.systems['avdcnn-audio']!['siSdr'] as number) - (it.systems['noisy']!['siSdr'] as number)) <
        1e-3,
    );
    const failing: AvdcnnLoader = () => Promise.reject(new Error('bad graph'));
    const r2 = await runCli([...base, '--systems', 'noisy,avdcnn-audio', '--model', model], failing);
    const j2 = JSON.parse(r2.out[0]!) as JsonOut;
    assert.deepEqual(j2.systems.run, ['noisy']);
    assert.equal(j2.systems.unavailable[0]!.reason, 'bad graph');
  });

  it('--offsets K draws K noise offsets per speech and noise file, the first the default one', async () => {
    await mkdir(join(dir, 'mix-speech'), { recursive: true });
    await mkdir(join(dir, 'mix-noise', 'car'), { recursive: true });
    for (const [name, seed] of [
      ['u1', 4],
      ['u2', 5],
    ] as const)
      await writeWavFile(
        join(dir, 'mix-speech', `${name}.wav`),
        { sampleRateHz: FS, channels: 1, samples: toneBursts(1, FS, seed) },
        'float32',
      );
    await writeWavFile(
      join(dir, 'mix-noise', 'car', 'n.wav'),
      { sampleRateHz: FS, channels: 1, samples: whiteNoise(6 * FS, 0.05, 9) },
      'float32',
    );
    const base = ['--speech', join(dir, 'mix-speech'), '--noise', join(dir, 'mix-noise'), '--snr', '0,5'];
    const opts = ['--systems', 'noisy', '--no-dnsmos', '--json'];
    const one = JSON.parse((await runCli([...base, ...opts])).out[0]!) as JsonOut;
    const three = JSON.parse((await runCli([...base, '--offsets', '3', ...opts])).out[0]!) as JsonOut;
    assert.equal(one.items.length, 2 * 2);
    assert.equal(three.items.length, 3 * 2 * 2);
    for (const u of ['u1.wav', 'u2.wav']) {
      const starts = (j: JsonOut) => [
        ...new Set(j.items.filter((i) => i.utterance === u).map((i) => i.noiseStart)),
      ];
      const [first, ...rest] = starts(three);
      assert.deepEqual(starts(one), [first], "the first offset is the default set's");
      assert.equal(rest.length, 2, 'three distinct offsets');
    }
    assert.match(three.notes.join(' '), /3 noise offsets per utterance and noise, spread evenly/);
    assert.doesNotMatch(three.notes.join(' '), /got fewer/);
    assert.match(one.notes.join(' '), /SNRs 0, 5 dB, noise offsets from fixed seeds\./);
    assert.equal((three.data as { offsets?: number }).offsets, 3);
    // A noise file barely longer than the speech: fewer offsets, and the note says so.
    await mkdir(join(dir, 'mix-noise-short', 'car'), { recursive: true });
    const u1 = toneBursts(1, FS, 4).length;
    await writeWavFile(
      join(dir, 'mix-noise-short', 'car', 'n.wav'),
      { sampleRateHz: FS, channels: 1, samples: whiteNoise(u1 + 1, 0.05, 9) },
      'float32',
    );
    const short = JSON.parse(
      (
        await runCli([
          '--speech',
          join(dir, 'mix-speech'),
          '--noise',
          join(dir, 'mix-noise-short'),
          '--offsets',
          '3',
          ...opts,
        ])
      ).out[0]!,
    ) as JsonOut;
    assert.match(short.notes.join(' '), /got fewer \(a span too short for 3\)/);
    for (const bad of ['0', '17', '2.5'])
      await assert.rejects(
        runCli([...base, '--offsets', bad, ...opts]),
        /--offsets must be an integer from 1 to 16/,
      );
    await assert.rejects(
      runCli(['--clean', join(dir, 'clean'), '--noisy', join(dir, 'noisy'), '--offsets', '2']),
      /--offsets applies to mixtures/,
    );
  });

  it('refuses bad arguments', async () => {
    await assert.rejects(runCli(['--json']), UsageError);
    await assert.rejects(runCli(['--clean', dir]), UsageError);
    await assert.rejects(
      runCli(['--clean', dir, '--noisy', dir, '--speech', dir, '--noise', dir]),
      UsageError,
    );
    await assert.rejects(runCli(['--clean', dir, '--noisy', dir, '--systems', 'noisy,wiener']), UsageError);
    await assert.rejects(runCli(['--speech', dir, '--noise', dir, '--snr', '0,x']), UsageError);
    const pairs = ['--clean', dir, '--noisy', dir];
    await assert.rejects(runCli([...pairs, '--split', 'train']), /--split must be test or validation/);
    await assert.rejects(
      runCli([...pairs, '--mask-floor-db', '3']),
      /--mask-floor-db: maskFloorDb 3 must be a number ≤ 0/,
    );
    await assert.rejects(
      runCli([...pairs, '--mask-floor-db', '']),
      /--mask-floor-db: "" is not a finite number/,
      'an empty value is refused, not read as 0 dB',
    );
    await assert.rejects(
      runCli([...pairs, '--mask-strength', '0']),
      /--mask-strength: maskStrength 0 must be a number in/,
    );
    await assert.rejects(
      runCli([...pairs, '--mask-strength', '1.1']),
      /--mask-strength: maskStrength 1.1 must be a number in \(0, 1\]/,
    );
    await assert.rejects(
      runCli([...pairs, '--mask-strength-av', '2.5']),
      /--mask-strength-av: maskStrengthVisual 2.5 must be a number in \(0, 2\]/,
    );
    await assert.rejects(
      runCli([...pairs, '--mask-smoothing-bins', '4']),
      /--mask-smoothing-bins: maskSmoothingBins 4 must be an odd integer/,
    );
    await assert.rejects(
      runCli([...pairs, '--mask-smoothing-time', '']),
      /--mask-smoothing-time: "" is not a finite number/,
    );
    await assert.rejects(
      runCli([...pairs, '--mask-expansion-knee-db=3']),
      /--mask-expansion-knee-db: maskExpansionKneeDb 3 must be a number of dB in \[-40, 0\]/,
    );
    await assert.rejects(
      runCli([...pairs, '--mask-expansion-ratio', '0.5']),
      /--mask-expansion-ratio: maskExpansionRatio 0.5 must be a number in \[1, 10\]/,
    );
    await assert.rejects(
      runCli([...pairs, '--pause-gate-db=3']),
      /--pause-gate-db: pauseGateDb 3 must be a number of dB in \[-40, 0\]/,
    );
    await assert.rejects(
      runCli([...pairs, '--pause-gate-threshold-db=-50']),
      /--pause-gate-threshold-db: pauseGateThresholdDb -50 must be a number of dB in \[-40, 0\]/,
    );
  });

  it('writes a self-contained HTML report with decodable PNG spectrograms, under 5 MB', async () => {
    const file = join(dir, 'report.html');
    const r = await runCli([
      '--clean',
      join(dir, 'clean'),
      '--noisy',
      join(dir, 'noisy'),
      '--systems',
      'noisy,logmmse',
      '--no-dnsmos',
      '--report',
      file,
      '--examples',
      '2',
    ]);
    assert.equal(r.code, 0);
    const html = await readFile(file, 'utf8');
    assert.ok((await stat(file)).size < 5e6);
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.match(html, /<\/html>\n$/);
    assert.doesNotMatch(html, /<script|https?:\/\//);
    const imgs = [...html.matchAll(/src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => m[1]!);
    assert.equal(imgs.length, 2 * 3, 'clean, noisy, logmmse for 2 mixtures');
    const png = Buffer.from(imgs[0]!, 'base64');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // Walk the chunks: CRCs valid, IDAT inflates to height × (width + 1) bytes.
    let o = 8;
    let width = 0;
    let height = 0;
    const idat: Buffer[] = [];
    while (o < png.length) {
      const len = png.readUInt32BE(o);
      const type = png.toString('latin1', o + 4, o + 8);
      const body = png.subarray(o + 8, o + 8 + len);
      assert.equal(png.readUInt32BE(o + 8 + len), crc32(png.subarray(o + 4, o + 8 + len)), `${type} CRC`);
      if (type === 'IHDR') {
        width = body.readUInt32BE(0);
        height = body.readUInt32BE(4);
      }
      if (type === 'IDAT') idat.push(body);
      o += 12 + len;
    }
    assert.equal(height, 128);
    assert.ok(width > 100 && width <= 360);
    assert.equal(inflateSync(Buffer.concat(idat)).length, height * (width + 1));
    assert.match(html, /<h2>Means and improvements over the noisy input<\/h2>/);
  });
});

describe('eval speech: the serving settings named in the report', () => {
  // Every stage at none but the strengths (and a threshold of 0 dB).
  const model = {
    ...SERVING_NONE,
    maskStrength: 0.7,
    maskStrengthVisual: 1,
    pauseGateThresholdDb: 0,
  };
  it("names the values in force, the model's own when not given", () => {
    assert.equal(servingInfo(false, {}, [model]), ", mask strength 0.7 (the model's)");
    assert.equal(
      servingInfo(true, {}, [model]),
      ", mask strength 0.7 (the model's), mask strength with the camera 1 (the model's)",
    );
  });
  it('marks given values; a given --mask-strength stands for the camera too; no loaded values: only the given', () => {
    assert.equal(
      servingInfo(true, { maskStrength: 0.5, maskFloorDb: -12 }, [
        { ...model, maskFloorDb: -12, maskStrengthVisual: 0.5 },
      ]),
      ', mask floor -12 dB (given), mask strength 0.5 (given), mask strength with the camera 0.5 (given)',
    );
    assert.equal(
      servingInfo(true, { maskStrengthVisual: 0.8 }, [{ ...model, maskStrengthVisual: 0.8 }]),
      ", mask strength 0.7 (the model's), mask strength with the camera 0.8 (given)",
    );
    assert.equal(
      servingInfo(true, { maskStrength: 0.9 }, undefined),
      ', mask strength 0.9 (given), mask strength with the camera 0.9 (given)',
    );
    assert.equal(servingInfo(true, {}, undefined), '');
  });
  it('names gain smoothing only when given or on', () => {
    assert.equal(
      servingInfo(false, { maskSmoothingBins: 3 }, [{ ...model, maskSmoothingBins: 3 }]),
      ", mask strength 0.7 (the model's), gain smoothing over 3 bins (given)",
    );
    assert.equal(
      servingInfo(false, {}, [model, { ...model, maskSmoothingTime: 0.3 }]),
      ", ensemble of 2, mask strength 0.7 / 0.7 (the members' own), gain smoothing in time none / 0.3 (the members' own)",
    );
  });
  it('names the low-gain expansion when given or on; the knee when given, or where the ratio is above 1', () => {
    assert.equal(
      servingInfo(false, {}, [{ ...model, maskExpansionKneeDb: -10 }]),
      ", mask strength 0.7 (the model's)",
    );
    assert.equal(
      servingInfo(false, { maskExpansionKneeDb: -10 }, [{ ...model, maskExpansionKneeDb: -10 }]),
      ", mask strength 0.7 (the model's), below -10 dB (given)",
    );
    assert.equal(
      servingInfo(false, { maskExpansionKneeDb: -10, maskExpansionRatio: 2 }, [
        { ...model, maskExpansionKneeDb: -10, maskExpansionRatio: 2 },
      ]),
      ", mask strength 0.7 (the model's), low-gain expansion ratio 2 (given), below -10 dB (given)",
    );
    assert.equal(
      servingInfo(false, {}, [model, { ...model, maskExpansionKneeDb: -6, maskExpansionRatio: 1.5 }]),
      ", ensemble of 2, mask strength 0.7 / 0.7 (the members' own), low-gain expansion ratio none / 1.5 (the members' own), below none / -6 dB (the members' own)",
    );
  });
  it('names the pause gate when given or on; the threshold when given, or where the gate is on', () => {
    assert.equal(
      servingInfo(false, {}, [{ ...model, pauseGateThresholdDb: -15 }]),
      ", mask strength 0.7 (the model's)",
    );
    assert.equal(
      servingInfo(false, { pauseGateDb: -10, pauseGateThresholdDb: -15 }, [
        { ...model, pauseGateDb: -10, pauseGateThresholdDb: -15 },
      ]),
      ", mask strength 0.7 (the model's), pause gate -10 dB (given), at frame gains below -15 dB (given)",
    );
    assert.equal(
      servingInfo(false, {}, [model, { ...model, pauseGateDb: -20, pauseGateThresholdDb: -10 }]),
      ", ensemble of 2, mask strength 0.7 / 0.7 (the members' own), pause gate none / -20 dB (the members' own), at frame gains below none / -10 dB (the members' own)",
    );
  });
  it("an ensemble: each member's values, in member order", () => {
    assert.equal(
      servingInfo(true, {}, [model, { ...model, maskStrengthVisual: 0.9 }]),
      ", ensemble of 2, mask strength 0.7 / 0.7 (the members' own), mask strength with the camera 1 / 0.9 (the members' own)",
    );
  });
});

describe('evaluateSpeech (core)', () => {
  it('runs an audio-visual system only on items with mouth frames and groups them as subset av', async () => {
    const mk = (id: string, video: boolean, category: string): EvalItem => {
      const clean = toneBursts(1.5, FS, id.length);
      const noisy = clean.map((v, i) => v + 0.02 * Math.sin(i));
      const aligned: AlignedMouth = {
        frames: 1,
        frameSize: 384,
        width: 24,
        height: 16,
        data: new Float32Array(384),
        present: Uint8Array.of(1),
        stats: {
          frames: 1,
          late: 0,
          duplicates: 0,
          badLength: 0,
          queries: 1,
          missing: 0,
          rateChanges: 0,
          fps: 25,
        },
      };
      return {
        id,
        utterance: id,
        speaker: null,
        noise: 'n',
        category,
        snrDb: 0,
        inputSnrDb: 0,
        noiseStart: 0,
        wrapped: false,
        clean,
        noisy,
        ...(video ? { video: { aligned } } : {}),
      };
    };
    const seen: string[] = [];
    const av: SpeechSystem = {
      name: 'av',
      needsVideo: true,
      process: (x, v) => {
        seen.push(v === undefined ? 'none' : 'video');
        return Promise.resolve(x);
      },
    };
    const broken: SpeechSystem = { name: 'broken', process: () => Promise.reject(new Error('boom')) };
    const items = [mk('x1', true, 'car-interior'), mk('x22', false, 'street')];
    const e = await evaluateSpeech(items, [noisySystem, logMmseSystem, av, broken, idealMaskSystem], {
      keep: new Set(pickExamples(items, 1)),
    });
    // The oracle is given the clean reference, is far above the noisy input, and has no RTF.
    for (const it of e.items) {
      const ideal = it.systems['ideal-mask']!;
      assert.ok(
        ideal.siSdr! > it.systems['noisy']!.siSdr! + 10,
        `${ideal.siSdr} vs ${it.systems['noisy']!.siSdr}`,
      );
      assert.equal(ideal.rtf, null);
      assert.deepEqual(ideal.errors, []);
    }
    await assert.rejects(idealMaskSystem.process(items[0]!.noisy), /needs the clean reference/);
    assert.deepEqual(seen, ['video', 'video'], 'warm-up and the one AV item');
    assert.equal(e.items[1]!.systems['av'], undefined);
    assert.deepEqual(e.items[0]!.systems['broken']!.errors, ['process: boom']);
    assert.equal(e.kept.length, 1);
    assert.equal(e.kept[0]!.id, 'x1', 'car interior first');
    const cats = [...new Set(e.aggregates.map((r) => `${r.category}/${r.subset}`))];
    assert.deepEqual(cats, ['car-interior/all', 'street/all', 'all/all', 'all/av']);
    assert.equal(e.aggregates.find((r) => r.system === 'av' && r.category === 'all')!.n, 1);
    assert.match(textTable(e), /items with mouth frames only/);
    const html = renderSpeechReportHtml({
      title: 'T <&>',
      evaluation: e,
      unavailable: [{ name: 'dfn3', reason: 'absent' }],
      notes: ['n'],
      generatedAt: 'now',
    });
    assert.match(html, /<title>T &#60;&#38;&#62;<\/title>/);
    assert.match(html, /<b>dfn3<\/b>: absent/);
  });

  it('encodes a PNG whose chunks carry valid CRCs', () => {
    const png = encodePng(2, 2, Uint8Array.of(0, 1, 1, 0), Uint8Array.of(0, 0, 0, 255, 255, 255));
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    assert.equal(Buffer.from(png).toString('latin1', 12, 16), 'IHDR');
  });
});

describe('eval speech on the real TEST split', { skip: SHARED_SKIP }, () => {
  it('one 0 dB car-interior mixture: noisy, logmmse, rnnoise, test split only', async () => {
    const r = await runCli([
      '--speech',
      shared('audio/speech'),
      '--noise',
      shared('audio/noise'),
      '--snr',
      '0',
      '--categories',
      'car-interior',
      '--limit',
      '1',
      '--systems',
      'noisy,logmmse,rnnoise',
      '--no-dnsmos',
      '--json',
    ]);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out[0]!) as JsonOut;
    assert.equal(j.data.kind, 'project-test-split');
    assert.equal(j.data.split, 'test');
    assert.ok(j.notes.some((n) => n.startsWith('TEST split only')));
    assert.deepEqual(j.systems.run, ['noisy', 'logmmse', 'rnnoise']);
    assert.equal(j.items.length, 1);
    const it = j.items[0]!;
    assert.equal(it.category, 'car-interior');
    assert.equal(it.snrDb, 0);
    const data = await prepareSpeechData(shared('.'), { audioOnly: true });
    assert.equal(splitOfUtterance(data.split, it.utterance), 'test');
    const span = data.split.parts.test.noise.find((s) => s.category === 'car-interior')!;
    assert.ok(it.noiseStart! >= span.start && it.noiseStart! < span.end);
    for (const s of ['noisy', 'logmmse', 'rnnoise'])
      for (const k of METRICS) assert.equal(typeof it.systems[s]![k], 'number', `${s} ${k}`);
    assert.ok((it.systems['rnnoise']!['siSdr'] as number) > (it.systems['noisy']!['siSdr'] as number));
    assert.ok((it.systems['rnnoise']!.rtf ?? 0) > 0);
  });

  it('--split validation scores the validation part only; the mask settings reach the AVDCNN loader', async (t) => {
    const own = await mkdtemp(join(tmpdir(), 'speech-eval-floor-'));
    t.after(() => rm(own, { recursive: true, force: true }));
    const model = join(own, 'fake.onnx');
    await writeFile(model, 'not a model');
    const seen: AvdcnnServing[] = [];
    const loader: AvdcnnLoader = (_file, serving = {}) => {
      seen.push(serving);
      return Promise.resolve({ enhance: (x: Float32Array) => Promise.resolve(x.map((v) => 0.5 * v)) });
    };
    const r = await runCli(
      [
        '--speech',
        shared('audio/speech'),
        '--noise',
        shared('audio/noise'),
        '--snr',
        '5',
        '--categories',
        'car-interior',
        '--split',
        'validation',
        '--systems',
        'noisy,avdcnn-audio',
        '--model',
        model,
        '--mask-floor-db=-12',
        '--mask-strength-av=0.8',
        '--mask-smoothing-bins=3',
        '--mask-smoothing-time=0.3',
        '--mask-expansion-knee-db=-10',
        '--mask-expansion-ratio=2',
        '--no-dnsmos',
        '--json',
      ],
      loader,
    );
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out[0]!) as JsonOut;
    assert.equal(j.data.kind, 'project-validation-split');
    assert.equal(j.data.split, 'validation');
    assert.ok(j.notes.some((n) => n.startsWith('VALIDATION split only')));
    assert.deepEqual(seen, [
      {
        maskFloorDb: -12,
        maskStrengthVisual: 0.8,
        maskSmoothingBins: 3,
        maskSmoothingTime: 0.3,
        maskExpansionKneeDb: -10,
        maskExpansionRatio: 2,
      },
    ]);
    const data = await prepareSpeechData(shared('.'), { audioOnly: true });
    const span = data.split.parts.validation.noise.find((s) => s.category === 'car-interior')!;
    assert.ok(j.items.length > 0);
    for (const it of j.items) {
      assert.equal(splitOfUtterance(data.split, it.utterance), 'validation');
      assert.ok(it.noiseStart! >= span.start && it.noiseStart! < span.end);
    }
  });
});
