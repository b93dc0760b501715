/**
 * Speech-enhancement data: the fixed split (disjoint speakers, utterances and noise spans), the mixer (SNR
 * accuracy, determinism), the evaluation set, the training examples' shapes, and — with ../shared — the real
 * catalogue and the GRID clip s1_bbaf2n's mouth crops aligned to its audio frames. Without ../shared the unit
 * parts run on the committed speech fixtures (real recordings).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SeededRandom } from '../../src/models/common/rng.ts';
import {
  CorpusLoader,
  alignMouth,
  loadCatalog,
  loadExtraSpeechCatalog,
  naturalCompare,
  parseCsv,
  speakerFromFileName,
  stftFrameCentresUs,
} from '../../src/models/speech/corpus.ts';
import type {
  LoadedNoise,
  LoadedUtterance,
  MouthTrack,
  UtteranceEntry,
} from '../../src/models/speech/corpus.ts';
import { prepareSpeechData } from '../../src/models/speech/dataset.ts';
import type { SpeechData } from '../../src/models/speech/dataset.ts';
import { trainingExamples } from '../../src/models/speech/examples.ts';
import {
  SpeechMixer,
  buildEvaluationSet,
  offsetRange,
  spreadOffsets,
  mixAtSnr,
  parseCategoryWeights,
  snrDb,
  speedPerturb,
} from '../../src/models/speech/mixing.ts';
import type { MixerPools } from '../../src/models/speech/mixing.ts';
import { assertDisjoint, buildSplit, splitHash, timeSpans } from '../../src/models/speech/splits.ts';
import type { NoiseLength, SpeechDataSplit } from '../../src/models/speech/splits.ts';
import { CAUSAL_CONTEXT } from '../../src/streams/features/audio/context.ts';
import { AVDCNN_STFT, frameCount } from '../../src/streams/features/audio/stft.ts';
import { encodeWav, readWavFile } from '../../src/streams/readers/wav.ts';
import { SHARED_DATA, SHARED_SKIP, fixture } from '../readers/shared-data.ts';
import { hasFfmpeg } from '../../scripts/make-camera-fixtures.ts';
import { mouthOf } from '../support/mouth.ts';

// --- a small catalogue shaped like the real one (names only; no audio is read to build a split) ----------

function utt(
  source: UtteranceEntry['source'],
  speaker: string | undefined,
  name: string,
  av = false,
): UtteranceEntry {
  return {
    id: `${source}/${name}`,
    source,
    speaker: `${source}:${speaker ?? 'unknown'}`,
    speakerKnown: speaker !== undefined,
    path: `x/${name}`,
    av,
  };
}

const UTTS: UtteranceEntry[] = [
  utt('cmu_arctic', 'aew', 'cmu_arctic_us_aew_a0001'),
  utt('cmu_arctic', 'axb', 'cmu_arctic_us_axb_a0004'),
  utt('cmu_arctic', undefined, 'arctic_a0010'),
  ...['s30', 's31', 's32', 's33', 's34', 's35', 's36', 's37'].flatMap((s) => [
    utt('lombard_grid', s, `${s}_l_a`),
    utt('lombard_grid', s, `${s}_p_b`),
  ]),
  ...['s1', 's2', 's23', 'spkC', 'spkD', 'spkE', 'spkF', 'spkH', 'spkI', 'spkJ', 'spkK', 'spkL'].map((s) =>
    utt('grid', s, `${s}_clip`, true),
  ),
];
const NOISES: NoiseLength[] = [
  { id: 'noisex92/volvo', category: 'car-interior', samples: 936_463 },
  { id: 'engine/engine', category: 'engine', samples: 1_048_608 },
  { id: 'berlin/A', category: 'street', samples: 2_169_301 },
  { id: 'berlin/B', category: 'street', samples: 2_356_918 },
  { id: 'noisex92/babble', category: 'babble', samples: 320_000 },
  { id: 'bg/dishes', category: 'household', samples: 1_522_930 },
  { id: 'bg/bike', category: 'household', samples: 980_062 },
  { id: 'bg/third', category: 'household', samples: 500_000 },
];

function clone(split: SpeechDataSplit): SpeechDataSplit {
  return JSON.parse(JSON.stringify(split)) as SpeechDataSplit;
}

function rehash(split: SpeechDataSplit): SpeechDataSplit {
  return { ...split, hash: splitHash(split) };
}

describe('speech data split', () => {
  const split = buildSplit(UTTS, NOISES);

  test('speakers: last 20 % test, 15 % before validation, small sources wholly training', () => {
    const counts = assertDisjoint(split);
    assert.deepEqual(split.parts.test.speakers, [
      'grid:spkK',
      'grid:spkL',
      'lombard_grid:s36',
      'lombard_grid:s37',
    ]);
    assert.deepEqual(split.parts.validation.speakers, ['grid:spkI', 'grid:spkJ', 'lombard_grid:s35']);
    assert.ok(
      split.parts.train.speakers.includes('cmu_arctic:unknown'),
      'unknown CMU speaker trains with aew/axb',
    );
    assert.equal(counts.test.avSpeakers, 2);
    assert.equal(counts.test.audioOnlySpeakers, 2);
    assert.equal(counts.validation.avSpeakers, 2);
    assert.equal(
      counts.train.utterances + counts.validation.utterances + counts.test.utterances,
      UTTS.length,
    );
  });

  test('noise: single recordings split 70/15/15 in time with a 1 s guard; several: whole recordings held out', () => {
    const spans = (name: 'train' | 'validation' | 'test', id: string): [number, number][] =>
      split.parts[name].noise.filter((s) => s.noise === id).map((s) => [s.start, s.end]);
    const [tr, va, te] = [
      spans('train', 'noisex92/volvo'),
      spans('validation', 'noisex92/volvo'),
      spans('test', 'noisex92/volvo'),
    ];
    assert.equal(tr.length, 1);
    assert.equal(va.length, 1);
    assert.equal(te.length, 1);
    assert.equal(tr[0]![0], 0);
    assert.equal(va[0]![0] - tr[0]![1], 16_000);
    assert.equal(te[0]![0] - va[0]![1], 16_000);
    assert.equal(te[0]![1], 936_463);
    // street: A trains whole, B is split between validation and test; household (3): last test, one before validation.
    assert.deepEqual(spans('train', 'berlin/A'), [[0, 2_169_301]]);
    assert.deepEqual(spans('train', 'berlin/B'), []);
    assert.equal(spans('validation', 'berlin/B').length, 1);
    assert.deepEqual(spans('test', 'bg/third'), [[0, 500_000]]);
    assert.deepEqual(spans('validation', 'bg/dishes'), [[0, 1_522_930]]);
    assert.deepEqual(spans('train', 'bg/bike'), [[0, 980_062]]);
  });

  test('deterministic: same input (any order) → same split and hash; JSON round trip keeps the hash', () => {
    const again = buildSplit([...UTTS].reverse(), [...NOISES].reverse());
    assert.equal(again.hash, split.hash);
    assert.deepEqual(again, split);
    const parsed = clone(split);
    assert.equal(splitHash(parsed), split.hash);
    assert.doesNotThrow(() => assertDisjoint(parsed));
  });

  test('assertDisjoint catches a shared speaker, a shared utterance, overlapping or too-close spans, a bad hash', () => {
    const leakSpeaker = clone(split);
    leakSpeaker.parts.test.utterances.push({ ...leakSpeaker.parts.train.utterances[0]!, id: 'new/utt' });
    leakSpeaker.parts.test.speakers.push(leakSpeaker.parts.train.utterances[0]!.speaker);
    assert.throws(() => assertDisjoint(rehash(leakSpeaker)), /speaker .* is in train and test/);

    const leakUtt = clone(split);
    leakUtt.parts.validation.utterances.push(leakUtt.parts.test.utterances[0]!);
    assert.throws(() => assertDisjoint(rehash(leakUtt)), /utterance .* is in validation and test/);

    const overlap = clone(split);
    const v = overlap.parts.validation.noise.find((s) => s.noise === 'noisex92/volvo')!;
    overlap.parts.validation.noise.push({ ...v, start: v.start - 17_000, end: v.start - 16_500 });
    assert.throws(() => assertDisjoint(rehash(overlap)), /overlap/);

    const tooClose = clone(split);
    const t = tooClose.parts.test.noise.find((s) => s.noise === 'noisex92/volvo')!;
    tooClose.parts.test.noise.push({ ...t, start: t.start - 15_000, end: t.start - 14_000 });
    assert.throws(() => assertDisjoint(rehash(tooClose)), /samples apart \(guard 16000\)/);

    const wholeTwice = clone(split);
    wholeTwice.parts.test.noise.push({
      ...wholeTwice.parts.train.noise.find((s) => s.noise === 'berlin/A')!,
    });
    assert.throws(() => assertDisjoint(rehash(wholeTwice)), /berlin\/A/);

    const tampered = clone(split);
    tampered.parts.train.utterances.pop();
    assert.throws(() => assertDisjoint(tampered), /hash does not match/);
  });

  test('timeSpans: disjoint, ordered, guard respected, covering the end', () => {
    for (const len of [50_000, 320_000, 936_463]) {
      const s = timeSpans(len, [0.7, 0.15, 0.15], 16_000);
      assert.equal(s[0]![0], 0);
      assert.equal(s[2]![1], len);
      for (let i = 1; i < s.length; i++) assert.equal(s[i]![0] - s[i - 1]![1], 16_000);
      assert.ok(Math.abs((s[0]![1] - s[0]![0]) / (len - 32_000) - 0.7) < 1e-4);
    }
    assert.throws(() => timeSpans(20_000, [0.7, 0.15, 0.15], 16_000), RangeError);
  });

  test('helpers: natural order, file-name speakers, CSV', () => {
    assert.deepEqual(['s23', 's2', 'spkC', 's1'].sort(naturalCompare), ['s1', 's2', 's23', 'spkC']);
    assert.equal(speakerFromFileName('cmu_arctic', 'cmu_arctic_us_axb_a0005.wav'), 'axb');
    assert.equal(speakerFromFileName('cmu_arctic', 'arctic_a0010.wav'), undefined);
    assert.equal(speakerFromFileName('lombard_grid', 's32_p_lrit7p.wav'), 's32');
    assert.deepEqual(parseCsv('a,b\n"x, y",2\r\n\n'), [
      ['a', 'b'],
      ['x, y', '2'],
    ]);
  });
});

// --- mixer and examples on committed real speech (always run) ----------------------------------------------

const FIXTURE_SPLIT = buildSplit(
  [
    utt('cmu_arctic', 'aew', 'a'),
    utt('lombard_grid', 's30', 'b'),
    utt('lombard_grid', 's31', 'c'),
    utt('lombard_grid', 's32', 'd'),
  ],
  [{ id: 'fixture/noise', category: 'babble', samples: 80_000 }],
);

async function fixturePools(): Promise<MixerPools & { noiseSamples: Float32Array }> {
  const speech = (await readWavFile(fixture('arctic-aew-a0001-head.wav'))).samples;
  const other = (await readWavFile(fixture('lombard-s30-lbwzzp-head.wav'))).samples;
  // "Noise": 5 s of the Lombard excerpt repeated (a babble-like real signal), for the unit tests only.
  const noiseSamples = new Float32Array(80_000);
  for (let i = 0; i < noiseSamples.length; i++) noiseSamples[i] = other[i % other.length]!;
  const entry = FIXTURE_SPLIT.parts.train.utterances[0]!;
  const u: LoadedUtterance = {
    entry: { ...entry, speakerKnown: true, path: 'fixture', av: false },
    samples: speech,
  };
  const n: LoadedNoise = {
    entry: {
      id: 'fixture/noise',
      category: 'babble',
      path: 'fixture',
      licence: 'fixture',
      committable: true,
    },
    samples: noiseSamples,
  };
  return { utterances: [u], noises: [n], noiseSamples };
}

describe('speech mixer', () => {
  test('mixAtSnr hits the target SNR within 0.1 dB (rms and active level), noisy = clean + noise', async () => {
    const { utterances, noiseSamples } = await fixturePools();
    const clean = utterances[0]!.samples;
    const noise = noiseSamples.subarray(1234, 1234 + clean.length);
    for (const level of ['rms', 'active'] as const) {
      for (const target of [-5, 0, 5, 15, 30]) {
        const m = mixAtSnr(clean, noise, target, { level });
        const got = snrDb(m.clean, m.noise, level);
        assert.ok(Math.abs(got - target) < 0.1, `${level} ${target} dB: measured ${got.toFixed(4)}`);
        let err = 0;
        for (let i = 0; i < clean.length; i++)
          err = Math.max(err, Math.abs(m.noisy[i]! - m.clean[i]! - m.noise[i]!));
        assert.ok(err < 1e-6);
      }
    }
    // Clipping guard: a loud mixture is scaled down as a whole, SNR kept.
    const loud = mixAtSnr(
      clean.map((x) => x * 8),
      noise,
      -5,
    );
    assert.ok(loud.outputGain < 1);
    assert.ok(Math.max(...loud.noisy.map(Math.abs)) <= 0.99 + 1e-6);
    assert.ok(Math.abs(snrDb(loud.clean, loud.noise) + 5) < 0.1);
    assert.throws(() => mixAtSnr(clean, new Float32Array(clean.length), 0), /silent/);
  });

  test('same seed → identical mixtures; another seed → different; SNRs in [−5, 15]; resumable from state', async () => {
    const pools = await fixturePools();
    const draw = (seed: number, n: number): ReturnType<SpeechMixer['next']>[] => {
      const m = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, { seed });
      return Array.from({ length: n }, () => m.next());
    };
    const a = draw(7, 6);
    const b = draw(7, 6);
    const c = draw(8, 6);
    a.forEach((m, i) => {
      assert.deepEqual(m.noisy, b[i]!.noisy);
      assert.equal(m.noiseStart, b[i]!.noiseStart);
      assert.ok(m.snrDb >= -5 && m.snrDb < 15);
      assert.ok(Math.abs(snrDb(m.clean, m.noise) - m.snrDb) < 0.1);
    });
    assert.notDeepEqual(
      a.map((m) => m.snrDb),
      c.map((m) => m.snrDb),
    );
    const m1 = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, { seed: 7 });
    m1.next();
    m1.next();
    const resumed = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, {
      seed: 7,
      position: m1.rng.state.position,
    });
    assert.deepEqual(resumed.next().noisy, a[2]!.noisy);
  });

  test('speed perturbation: factors drawn per mixture, speech resampled (length / factor, pitch moved), resumable', async () => {
    const pools = await fixturePools();
    // A 400 Hz tone at 0.9: 0.9 × 400 = 360 Hz over length / 0.9 samples.
    const tone = Float32Array.from({ length: 16_000 }, (_, i) => Math.sin((2 * Math.PI * 400 * i) / 16_000));
    const slow = speedPerturb(tone, 0.9);
    assert.ok(Math.abs(slow.length - 16_000 / 0.9) <= 2, `${slow.length}`);
    let crossings = 0;
    for (let i = 2000; i < slow.length - 2000; i++) if (slow[i - 1]! < 0 && slow[i]! >= 0) crossings++;
    const hz = crossings / ((slow.length - 4000) / 16_000);
    assert.ok(Math.abs(hz - 360) < 2, `${hz} Hz`);
    assert.equal(speedPerturb(tone, 1), tone);
    assert.throws(() => speedPerturb(tone, 3), /outside/);
    assert.throws(() => new SpeechMixer(FIXTURE_SPLIT, 'train', pools, { speedFactors: [0.2] }), /outside/);

    const base = new Map(pools.utterances.map((u) => [u.entry.id, u.samples.length]));
    const m = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, { seed: 5, speedFactors: [0.9, 1, 1.1] });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const x = m.next();
      const [id, speed] = x.utterance.split('@speed');
      const f = speed === undefined ? 1 : Number(speed);
      seen.add(String(f));
      assert.ok(Math.abs(x.clean.length - base.get(id!)! / f) <= 2, `${x.utterance}: ${x.clean.length}`);
      if (f !== 1) assert.equal(x.mouth, undefined); // a perturbed face clip trains as audio-only
      assert.ok(Math.abs(snrDb(x.clean, x.noise) - x.snrDb) < 0.1);
    }
    assert.deepEqual([...seen].sort(), ['0.9', '1', '1.1']);
    const again = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, { seed: 5, speedFactors: [0.9, 1, 1.1] });
    again.next();
    const position = again.rng.state.position;
    const second = again.next();
    const resumed = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, {
      seed: 5,
      position,
      speedFactors: [0.9, 1, 1.1],
    });
    const back = resumed.next();
    assert.equal(back.utterance, second.utterance);
    assert.deepEqual(back.noisy, second.noisy);
  });

  test('mouth-crop augmentation: one transform per talking-face mixture, audio as without it, no draw when off', async () => {
    const pools = await fixturePools();
    const u = pools.utterances[0]!;
    const frames = 40;
    const rng = new SeededRandom(9);
    const mouth = mouthOf(frames, 24, 16, 1, () => 0.2 + 0.6 * rng.next());
    const face = { ...pools, utterances: [{ ...u, mouth }] };
    const plain = new SpeechMixer(FIXTURE_SPLIT, 'train', face, { seed: 4 });
    const off = new SpeechMixer(FIXTURE_SPLIT, 'train', face, { seed: 4, visualAugment: false });
    const on = new SpeechMixer(FIXTURE_SPLIT, 'train', face, { seed: 4, visualAugment: true });
    const a = plain.next();
    const b = off.next();
    const c = on.next();
    assert.equal(b.mouth, a.mouth); // off: the clip's own crops, and the same draws
    assert.equal(off.rng.state.position, plain.rng.state.position);
    assert.deepEqual(c.noisy, a.noisy); // the augmentation draws come after the mixture's own
    assert.equal(on.rng.state.position, plain.rng.state.position + 5);
    assert.notDeepEqual(c.mouth!.data, mouth.data);
    assert.equal(c.mouth!.frames, frames);
    assert.ok(c.mouth!.data.every((v) => v >= 0 && v <= 1));
    // Audio-only utterances draw nothing more.
    const audio = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, { seed: 4, visualAugment: true });
    const d = audio.next();
    assert.equal(d.mouth, undefined);
    assert.equal(audio.rng.state.position, plain.rng.state.position);
  });

  test('extra speech: drawn at its share, training only, held-out files and speakers refused', async () => {
    const pools = await fixturePools();
    const speech = pools.utterances[0]!.samples;
    const extraUtt = (speaker: string, name: string, id = `extra/${speaker}/${name}`): LoadedUtterance => ({
      entry: { id, source: 'extra', speaker: `extra:${speaker}`, speakerKnown: true, path: 'x', av: false },
      samples: speech.subarray(0, 8000 + 1000 * name.length),
    });
    const extra = [extraUtt('kal', 'one'), extraUtt('slt', 'three')];
    const withExtra = { ...pools, extra };
    const count = (share: number, n = 400): number => {
      const m = new SpeechMixer(FIXTURE_SPLIT, 'train', withExtra, { seed: 11, extraShare: share });
      let k = 0;
      for (let i = 0; i < n; i++) {
        const x = m.next();
        if (x.source === 'extra') {
          k++;
          assert.ok(x.utterance.startsWith('extra/'));
        } else assert.equal(x.utterance, pools.utterances[0]!.entry.id);
      }
      return k;
    };
    assert.equal(count(0), 0);
    assert.equal(count(1), 400);
    const half = count(0.5);
    assert.ok(half > 160 && half < 240, `share 0.5: ${half} of 400 from the extra speech`);
    const quarter = count(0.25);
    assert.ok(quarter > 60 && quarter < 140, `share 0.25: ${quarter} of 400`);
    // Without extra speech nothing is drawn for the pool: the mixtures are those of before.
    const plain = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, { seed: 11, extraShare: 0.5 }).next();
    const old = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, { seed: 11 }).next();
    assert.deepEqual(plain.noisy, old.noisy);
    // Refusals: not for evaluation, not held-out material, not another source, share in [0, 1].
    assert.throws(() => new SpeechMixer(FIXTURE_SPLIT, 'validation', withExtra), /training only/);
    const heldSpeaker = FIXTURE_SPLIT.parts.test.speakers[0]!;
    const spoofSpeaker: LoadedUtterance = {
      entry: { ...extraUtt('x', 'y').entry, speaker: heldSpeaker },
      samples: speech,
    };
    assert.throws(
      () => new SpeechMixer(FIXTURE_SPLIT, 'train', { ...pools, extra: [spoofSpeaker] }),
      /held out for evaluation/,
    );
    const heldId = FIXTURE_SPLIT.parts.validation.utterances[0]!.id;
    assert.throws(
      () => new SpeechMixer(FIXTURE_SPLIT, 'train', { ...pools, extra: [extraUtt('z', 'w', heldId)] }),
      /held out for evaluation/,
    );
    assert.throws(
      () => new SpeechMixer(FIXTURE_SPLIT, 'train', { ...pools, extra: [pools.utterances[0]!] }),
      /not of source extra/,
    );
    assert.throws(() => new SpeechMixer(FIXTURE_SPLIT, 'train', withExtra, { extraShare: 1.5 }), /outside/);
  });

  test('noise category weights: drawn in proportion, uniform when absent or equal (same sequence), refusals', async () => {
    const pools = await fixturePools();
    const cats = ['car-interior', 'street', 'babble'] as const;
    const split = buildSplit(
      [
        utt('cmu_arctic', 'aew', 'a'),
        utt('lombard_grid', 's30', 'b'),
        utt('lombard_grid', 's31', 'c'),
        utt('lombard_grid', 's32', 'd'),
      ],
      cats.map((category) => ({ id: `fixture/${category}`, category, samples: 80_000 })),
    );
    const noises: LoadedNoise[] = cats.map((category) => ({
      entry: { id: `fixture/${category}`, category, path: 'x', licence: 'fixture', committable: true },
      samples: pools.noiseSamples,
    }));
    const train = { utterances: pools.utterances, noises };
    const draw = (o: ConstructorParameters<typeof SpeechMixer>[3], n: number): string[] => {
      const m = new SpeechMixer(split, 'train', train, { seed: 3, ...o });
      return Array.from({ length: n }, () => m.next().category);
    };
    const n = 1000;
    const weighted = draw({ categoryWeights: { 'car-interior': 3 } }, n);
    const car = weighted.filter((c) => c === 'car-interior').length;
    // 3 of 5: 600 expected, σ ≈ 15.5.
    assert.ok(car > 540 && car < 660, `car-interior ${car} of ${n} at weight 3 of 5`);
    for (const c of ['street', 'babble']) {
      const k = weighted.filter((x) => x === c).length;
      assert.ok(k > 150 && k < 250, `${c} ${k} of ${n} at weight 1 of 5`);
    }
    const uniform = draw({}, 300);
    const uniformCar = uniform.filter((c) => c === 'car-interior').length;
    assert.ok(uniformCar > 70 && uniformCar < 130, `uniform: car-interior ${uniformCar} of 300`);
    // Equal weights are the uniform draw, mixture for mixture.
    assert.deepEqual(draw({ categoryWeights: { street: 2, babble: 2, 'car-interior': 2 } }, 300), uniform);
    assert.deepEqual(draw({ categoryWeights: { engine: 5 } }, 300), uniform);
    assert.ok(!draw({ categoryWeights: { street: 0 } }, 300).includes('street'));
    const only = (o: Parameters<typeof draw>[0]) => () => new SpeechMixer(split, 'train', train, o);
    assert.throws(only({ categoryWeights: { street: -1 } }), /finite number ≥ 0/);
    assert.throws(only({ categoryWeights: { street: Number.NaN } }), /finite number ≥ 0/);
    assert.throws(only({ categoryWeights: { tram: 1 } as never }), /unknown category "tram"/);
    assert.throws(
      only({ categoryWeights: { street: 0, babble: 0, 'car-interior': 0 } }),
      /every category of the split weighs 0/,
    );
    // The command-line form.
    assert.deepEqual(parseCategoryWeights('car-interior=3, engine = 0.5'), {
      'car-interior': 3,
      engine: 0.5,
    });
    assert.throws(() => parseCategoryWeights('car-interior'), /expected category=weight/);
    assert.throws(() => parseCategoryWeights('car=3'), /unknown category car/);
    assert.throws(() => parseCategoryWeights('street=1,street=2'), /street given twice/);
    assert.throws(() => parseCategoryWeights('street=-1'), /must be a number ≥ 0/);
    assert.throws(() => parseCategoryWeights('street=x'), /must be a number ≥ 0/);
  });

  test('extra speech catalogue: DIR/<speaker>/*.wav, one speaker per folder; an empty or missing DIR refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ds-extra-'));
    try {
      await assert.rejects(loadExtraSpeechCatalog(dir), /no DIR\/<speaker>\/\*\.wav/);
      await assert.rejects(loadExtraSpeechCatalog(join(dir, 'nope')), /does not exist/);
      await mkdir(join(dir, 'kal'));
      await mkdir(join(dir, 'slt'));
      const wav = encodeWav({ sampleRateHz: 16_000, channels: 1, samples: new Float32Array(1600).fill(0.1) });
      await writeFile(join(dir, 'kal', '0001.wav'), wav);
      await writeFile(join(dir, 'slt', '0002.wav'), wav);
      await writeFile(join(dir, 'slt', 'notes.txt'), 'not audio');
      await writeFile(join(dir, 'MANIFEST.csv'), 'file\n');
      const c = await loadExtraSpeechCatalog(dir);
      assert.deepEqual(
        c.utterances.map((u) => [u.id, u.speaker, u.source, u.path]),
        [
          ['extra/kal/0001', 'extra:kal', 'extra', 'kal/0001.wav'],
          ['extra/slt/0002', 'extra:slt', 'extra', 'slt/0002.wav'],
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses material of another split', async () => {
    const pools = await fixturePools();
    assert.throws(() => new SpeechMixer(FIXTURE_SPLIT, 'test', pools), /not in the test split/);
  });

  test('evaluation set: fixed, utterance × span × SNR, same noise segment at every SNR', async () => {
    const pools = await fixturePools();
    const e1 = buildEvaluationSet(FIXTURE_SPLIT, 'train', pools);
    const e2 = buildEvaluationSet(FIXTURE_SPLIT, 'train', pools);
    assert.equal(e1.length, 3);
    assert.deepEqual(
      e1.map((m) => m.snrDb),
      [-5, 0, 5],
    );
    assert.equal(new Set(e1.map((m) => m.noiseStart)).size, 1);
    e1.forEach((m, i) => {
      assert.deepEqual(m.noisy, e2[i]!.noisy);
      assert.ok(Math.abs(snrDb(m.clean, m.noise) - m.snrDb) < 0.1);
    });
  });

  test("evaluation set with K noise offsets: K times the mixtures, the first offset the default set's", async () => {
    const pools = await fixturePools();
    const one = buildEvaluationSet(FIXTURE_SPLIT, 'train', pools);
    const three = buildEvaluationSet(FIXTURE_SPLIT, 'train', pools, { offsets: 3 });
    assert.equal(three.length, 3 * one.length);
    const starts = [...new Set(three.map((m) => m.noiseStart))];
    assert.equal(starts.length, 3, 'distinct offsets');
    assert.equal(starts[0], one[0]!.noiseStart);
    one.forEach((m, i) =>
      assert.deepEqual(three[i]!.noisy, m.noisy, "the first offset's mixtures are the same"),
    );
    assert.deepEqual(
      buildEvaluationSet(FIXTURE_SPLIT, 'train', pools, { offsets: 3 }).map((m) => m.noiseStart),
      three.map((m) => m.noiseStart),
      'fixed',
    );
    assert.throws(
      () => buildEvaluationSet(FIXTURE_SPLIT, 'train', pools, { offsets: 0 }),
      /1 to 16 expected/,
    );
  });

  test('spreadOffsets: evenly around the span from the first, no repeats, fewer only on a short span', () => {
    assert.deepEqual(spreadOffsets(4, 3, 10), [3, 6, 8, 1]);
    assert.deepEqual(spreadOffsets(1, 7, 10), [7]);
    assert.deepEqual(spreadOffsets(4, 1, 2), [1, 0], 'a span of two offsets gives two');
    const wide = spreadOffsets(16, 12_345, 200_000);
    assert.equal(new Set(wide).size, 16);
    const gaps = [...wide]
      .sort((x, y) => x - y)
      .map((o, i, s) => (i > 0 ? o - s[i - 1]! : o + 200_000 - s[s.length - 1]!));
    assert.ok(Math.min(...gaps) >= 12_499, `gaps ${Math.min(...gaps)}`);
    for (const bad of [0, 17, 1.5, NaN]) assert.throws(() => spreadOffsets(bad, 0, 10), /1 to 16 expected/);
    assert.throws(() => spreadOffsets(2, 10, 10), /first 10 of 10 possible/);
    assert.equal(offsetRange(100, 30), 71);
    assert.equal(offsetRange(20, 30), 20, 'a span shorter than the utterance wraps');
  });

  test('training examples: ±2 and causal context shapes, visual stacks, visual dropout', async () => {
    const pools = await fixturePools();
    const mix = new SpeechMixer(FIXTURE_SPLIT, 'train', pools, { seed: 3 }).next();
    const T = frameCount(mix.noisy.length, AVDCNN_STFT);
    const ex = trainingExamples(mix);
    assert.equal(ex.frames, T);
    assert.equal(ex.bins, 257);
    assert.equal(ex.noisy.length, T * 5 * 257);
    assert.equal(ex.clean.length, T * 257);
    assert.equal(ex.visual.length, T * 5 * 384);
    assert.ok(!ex.hasVideo && ex.visual.every((v) => v === 0) && ex.visualPresent.every((v) => v === 0));
    const causal = trainingExamples(mix, { context: CAUSAL_CONTEXT, normalization: 'running' });
    assert.equal(causal.audioRows, 5);
    // Causal row 4 (frame t) equals ±2 row 2 (frame t) before normalisation: check on the raw log power.
    assert.deepEqual(causal.noisyLogPower, ex.noisyLogPower);

    // An AV mixture: a mouth track of distinct frames, aligned to the audio frames.
    const rng = new SeededRandom(5);
    const track: MouthTrack = {
      fps: 25,
      offsetS: 0,
      width: 24,
      height: 16,
      frameSize: 384,
      count: Math.ceil((mix.noisy.length / 16_000) * 25) + 1,
      data: rng.floats((Math.ceil((mix.noisy.length / 16_000) * 25) + 1) * 384),
      ok: new Uint8Array(Math.ceil((mix.noisy.length / 16_000) * 25) + 1).fill(1),
    };
    const mouth = alignMouth(track, mix.noisy.length);
    assert.equal(mouth.frames, T);
    const av = { ...mix, mouth };
    const e = trainingExamples(av, { visualDropout: 0 });
    assert.equal(e.visual.length, T * 5 * 384);
    // Frame t's centre row is the aligned crop t; row 0 is crop t − 2 (edge repeated).
    const t = 10;
    assert.deepEqual(
      e.visual.subarray((t * 5 + 2) * 384, (t * 5 + 3) * 384),
      mouth.data.subarray(t * 384, (t + 1) * 384),
    );
    assert.deepEqual(
      e.visual.subarray(t * 5 * 384, (t * 5 + 1) * 384),
      mouth.data.subarray((t - 2) * 384, (t - 1) * 384),
    );
    assert.ok(e.visualPresent.every((v) => v === 1));
    const dropped = trainingExamples(av, { visualDropout: 1 });
    assert.ok(dropped.visualDropped && dropped.visual.every((v) => v === 0) && dropped.hasVideo);
    const r = new SeededRandom(11);
    const n = 400;
    let k = 0;
    for (let i = 0; i < n; i++)
      if (trainingExamples(av, { visualDropout: 0.3, rng: r, context: { past: 0, future: 0 } }).visualDropped)
        k++;
    assert.ok(Math.abs(k / n - 0.3) < 0.07, `dropped ${k}/${n}`);
  });

  test('STFT frame centres: t·20 ms + 4 ms; causal alignment uses each 25 fps frame twice', () => {
    const c = stftFrameCentresUs(48_000);
    assert.equal(c.length, 151); // floor((48,000 − 1 + 512)/320): the last frame still covers real samples
    assert.ok(Math.abs(c[0]! - 4_000) < 1e-6 && Math.abs(c[10]! - 204_000) < 1e-6);
    const track: MouthTrack = {
      fps: 25,
      offsetS: 0,
      width: 1,
      height: 1,
      frameSize: 1,
      count: 75,
      data: Float32Array.from({ length: 75 }, (_, i) => i),
      ok: new Uint8Array(75).fill(1),
    };
    const m = alignMouth(track, 48_000);
    assert.deepEqual(
      [...m.data],
      Array.from({ length: 151 }, (_, k) => Math.min(74, Math.floor(k / 2))),
    );
  });
});

// --- the real data ------------------------------------------------------------------------------------------

const REAL_SKIP = SHARED_SKIP || (!hasFfmpeg() && 'needs ffmpeg');

describe('speech data in ../shared', { skip: REAL_SKIP }, () => {
  let data: SpeechData | undefined;
  const prepared = async (): Promise<SpeechData> => (data ??= await prepareSpeechData(SHARED_DATA));
  after(async () => data?.loader.close());

  test('catalogue: 44 utterances, speakers parsed, 7 noise recordings in 5 categories', async () => {
    const cat = await loadCatalog(SHARED_DATA);
    const by = (s: string): UtteranceEntry[] => cat.utterances.filter((u) => u.source === s);
    assert.equal(by('cmu_arctic').length, 7);
    assert.equal(by('lombard_grid').length, 18);
    assert.equal(by('grid').length, 19);
    assert.equal(new Set(by('lombard_grid').map((u) => u.speaker)).size, 8);
    assert.equal(new Set(by('grid').map((u) => u.speaker)).size, 12);
    assert.equal(cat.noises.length, 7);
    assert.equal(new Set(cat.noises.map((n) => n.category)).size, 5);
    assert.ok(
      cat.noises.filter((n) => !n.committable).every((n) => /noisex92|engine_unclear_license/.test(n.id)),
    );
  });

  test('the real split is leak-free and holds out audio-only and AV speakers', async (t) => {
    const d = await prepared();
    const counts = assertDisjoint(d.split);
    t.diagnostic(`split ${d.split.hash.slice(0, 16)}: ${JSON.stringify(counts)}`);
    for (const name of ['validation', 'test'] as const) {
      assert.ok(counts[name].avSpeakers >= 1 && counts[name].audioOnlySpeakers >= 1, name);
      for (const cat of ['car-interior', 'engine', 'street', 'babble', 'household'] as const)
        assert.ok((counts[name].noiseSeconds[cat] ?? 0) > 2, `${name} ${cat}`);
    }
    assert.deepEqual(d.split.parts.test.speakers, [
      'grid:spkK',
      'grid:spkL',
      'lombard_grid:s36',
      'lombard_grid:s37',
    ]);
  });

  test('real test mixtures: SNR within 0.1 dB, deterministic', async () => {
    const d = await prepared();
    const ids = new Set(d.split.parts.test.utterances.filter((u) => !u.av).map((u) => u.id));
    const utterances = await Promise.all(
      d.catalog.utterances.filter((u) => ids.has(u.id)).map((u) => d.loader.loadUtterance(u)),
    );
    const noiseIds = new Set(d.split.parts.test.noise.map((s) => s.noise));
    const noises = await Promise.all(
      d.catalog.noises.filter((n) => noiseIds.has(n.id)).map((n) => d.loader.loadNoise(n)),
    );
    const pools = { utterances, noises };
    const a = new SpeechMixer(d.split, 'test', pools, { seed: 42 });
    const b = new SpeechMixer(d.split, 'test', pools, { seed: 42 });
    for (let i = 0; i < 8; i++) {
      const x = a.next();
      const y = b.next();
      assert.deepEqual(x.noisy, y.noisy);
      const span = x.span;
      assert.ok(x.noiseStart >= span.start && x.noiseStart < span.end);
      assert.ok(Math.abs(snrDb(x.clean, x.noise) - x.snrDb) < 0.1);
    }
    const evalSet = buildEvaluationSet(d.split, 'test', pools, { categories: ['car-interior', 'engine'] });
    assert.equal(evalSet.length, utterances.length * 2 * 3);
  });

  test('GRID s1_bbaf2n: 75 mouth crops (16×24 gray) aligned to ~150 audio frames; cached', async (t) => {
    const d = await prepared();
    const entry = d.catalog.utterances.find((u) => u.id === 'grid/s1_bbaf2n')!;
    const u = await d.loader.loadUtterance(entry);
    assert.equal(u.track!.count, 75);
    assert.equal(u.track!.frameSize, 16 * 24);
    const ok = u.track!.ok.reduce((a, b) => a + b, 0);
    const T = frameCount(u.samples.length, AVDCNN_STFT);
    t.diagnostic(
      `${u.samples.length} samples, ${T} STFT frames, ${ok}/75 crops, missing ${u.mouth!.stats.missing}`,
    );
    assert.ok(Math.abs(T - 150) <= 2, `${T} audio frames`);
    assert.ok(ok >= 70);
    assert.equal(u.mouth!.frames, T);
    assert.ok(u.mouth!.present.reduce((a, b) => a + b, 0) >= T - 4);
    for (let i = 0; i < u.mouth!.data.length; i++)
      assert.ok(u.mouth!.data[i]! >= 0 && u.mouth!.data[i]! <= 1);
    // A second loader reads the same crops back from the cache.
    const again = new CorpusLoader(d.catalog);
    const u2 = await again.loadUtterance(entry);
    assert.ok(again.cache.hits >= 2 && again.cache.misses === 0);
    assert.deepEqual(u2.mouth!.data, u.mouth!.data);
    assert.deepEqual(u2.samples, u.samples);
    const car = await d.loader.loadNoise(d.catalog.noises.find((n) => n.category === 'car-interior')!);
    const mixer = new SpeechMixer(
      d.split,
      'train',
      { utterances: [u], noises: [car] },
      {
        seed: 1,
        categories: ['car-interior'],
      },
    );
    const ex = trainingExamples(mixer.next(), { visualDropout: 0 });
    assert.equal(ex.visual.length, T * 5 * 384);
    assert.ok(ex.hasVideo && !ex.visualDropped);
  });
});
