/**
 * Makes a training-only corpus of synthetic English speech with the text-to-speech voices Debian packages
 * (Festival's diphone and HTS voices, Flite's voices), for `drivesense train speech --extra-speech DIR`.
 * The project's real speech is ≈ 2 minutes; this adds voices, pitches, rates and phonetic contexts the real
 * corpus lacks. It never goes into validation or test (the mixer refuses that), and none of its voices is a
 * speaker of the real corpus (CMU ARCTIC aew/axb, Lombard GRID s30–s37, GRID): the voices are kal, ked,
 * slt, awb and rms.
 *
 *   node --import tsx scripts/synthetic-speech.ts OUT_DIR [--minutes 60] [--seed 1]
 *
 * Text: sentences of the `fortunes` package's quotation files (plain prose, 40–240 characters, filtered to
 * letters and punctuation), shuffled with the seed. Voices (with pitch and rate variants) are taken in turn.
 * Writes OUT_DIR/<voice>/<nnnn>.wav (16 kHz mono PCM) and OUT_DIR/MANIFEST.csv (file, voice, engine, f0 mean,
 * duration stretch, seconds, text). Needs festival, festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts,
 * flite and fortunes: installed with apt when run as root, otherwise named.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { SeededRandom } from '../src/models/common/rng.ts';
import { readWavFile } from '../src/streams/readers/wav.ts';

const run = promisify(execFile);

const PACKAGES = [
  'festival',
  'festvox-kallpc16k',
  'festvox-kdlpc16k',
  'festvox-us-slt-hts',
  'flite',
  'fortunes',
];
const FORTUNE_FILES = [
  'fortunes',
  'literature',
  'wisdom',
  'people',
  'humorists',
  'education',
  'science',
  'work',
];
const FORTUNE_DIR = '/usr/share/games/fortunes';

/** One voice setting: the engine, the voice, its pitch target (Hz, null = the voice's own) and rate. */
export interface VoiceVariant {
  readonly speaker: string;
  readonly engine: 'festival' | 'flite';
  readonly voice: string;
  readonly f0Mean: number | null;
  readonly stretch: number;
}

/** The variants taken in turn (pitch targets the voices follow; see the notes in docs/models/speech.md). */
export const VOICE_VARIANTS: readonly VoiceVariant[] = [
  { speaker: 'kal', engine: 'festival', voice: 'kal_diphone', f0Mean: 100, stretch: 1 },
  { speaker: 'kal', engine: 'festival', voice: 'kal_diphone', f0Mean: 135, stretch: 0.9 },
  { speaker: 'kal', engine: 'festival', voice: 'kal_diphone', f0Mean: 180, stretch: 1.1 },
  { speaker: 'ked', engine: 'festival', voice: 'ked_diphone', f0Mean: 110, stretch: 1.1 },
  { speaker: 'ked', engine: 'festival', voice: 'ked_diphone', f0Mean: 150, stretch: 1 },
  { speaker: 'slt-hts', engine: 'festival', voice: 'cmu_us_slt_arctic_hts', f0Mean: null, stretch: 1 },
  { speaker: 'slt', engine: 'flite', voice: 'slt', f0Mean: 170, stretch: 1 },
  { speaker: 'slt', engine: 'flite', voice: 'slt', f0Mean: 210, stretch: 0.9 },
  { speaker: 'slt', engine: 'flite', voice: 'slt', f0Mean: 145, stretch: 1.1 },
  { speaker: 'awb', engine: 'flite', voice: 'awb', f0Mean: null, stretch: 1 },
  { speaker: 'rms', engine: 'flite', voice: 'rms', f0Mean: null, stretch: 0.9 },
  { speaker: 'kal16', engine: 'flite', voice: 'kal16', f0Mean: null, stretch: 1 },
];

/** Sentences of fortune-file text: prose only, 40–240 characters, attributions removed, deduplicated. */
export function sentencesOf(text: string): string[] {
  const out = new Set<string>();
  for (const entry of text.split(/^%$/m)) {
    const body = entry
      .replace(/^\s*--.*$/gm, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (body.length < 40 || body.length > 240) continue;
    if (!/^[A-Za-z0-9 ,.;:!?'"()-]+$/.test(body)) continue;
    if (!/[a-z]/.test(body) || /[A-Z]{4,}/.test(body) || /\b(?:Q|A):/.test(body)) continue;
    out.add(body);
  }
  return [...out];
}

async function checkTools(): Promise<void> {
  const missing: string[] = [];
  for (const bin of ['text2wave', 'flite']) {
    try {
      await run('sh', ['-c', `command -v ${bin}`]);
    } catch {
      missing.push(bin);
    }
  }
  const festvox = [
    '/usr/share/festival/voices/english/kal_diphone',
    '/usr/share/festival/voices/english/ked_diphone',
  ];
  const ready = missing.length === 0 && festvox.every(existsSync) && existsSync(FORTUNE_DIR);
  if (ready) return;
  if (process.getuid?.() === 0) {
    await run('apt-get', ['install', '-y', '-qq', ...PACKAGES], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return;
  }
  throw new Error(`synthetic speech needs the Debian packages: apt-get install ${PACKAGES.join(' ')}`);
}

async function synthesise(v: VoiceVariant, text: string, out: string): Promise<void> {
  if (v.engine === 'flite') {
    const args = ['-voice', v.voice, '--setf', `duration_stretch=${v.stretch}`];
    if (v.f0Mean !== null) args.push('--setf', `int_f0_target_mean=${v.f0Mean}`);
    await run('flite', [...args, '-t', text, '-o', out]);
    return;
  }
  const evals = [`(voice_${v.voice})`, `(Parameter.set 'Duration_Stretch ${v.stretch})`];
  if (v.f0Mean !== null)
    evals.push(
      `(set! int_lr_params '((target_f0_mean ${v.f0Mean}) (target_f0_std ${Math.round(v.f0Mean * 0.18)}) ` +
        '(model_f0_mean 170) (model_f0_std 34)))',
    );
  const textFile = `${out}.txt`;
  await writeFile(textFile, `${text}\n`);
  await run('text2wave', [...evals.flatMap((e) => ['-eval', e]), '-F', '16000', '-o', out, textFile]);
  await rm(textFile, { force: true });
}

/** One CSV field, quoted when it holds a quote, comma or newline. */
export function csvField(s: string | number): string {
  const t = String(s);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { minutes: { type: 'string' }, seed: { type: 'string' } },
  });
  const outDir = positionals[0];
  if (outDir === undefined) throw new Error('usage: synthetic-speech.ts OUT_DIR [--minutes 60] [--seed 1]');
  const minutes = Number(values.minutes ?? 60);
  const seed = Number(values.seed ?? 1);
  if (!(minutes > 0) || !Number.isInteger(seed))
    throw new Error('--minutes must be > 0 and --seed an integer');
  await checkTools();
  const sentences: string[] = [];
  for (const f of FORTUNE_FILES) {
    const p = join(FORTUNE_DIR, f);
    if (existsSync(p)) sentences.push(...sentencesOf(await readFile(p, 'latin1')));
  }
  const rng = new SeededRandom(seed);
  const order = rng.shuffle(sentences.map((_, i) => i));
  const rows = ['file,speaker,engine,voice,f0_mean,duration_stretch,seconds,text'];
  let total = 0;
  let n = 0;
  let skipped = 0;
  for (const i of order) {
    if (total >= minutes * 60) break;
    const v = VOICE_VARIANTS[n % VOICE_VARIANTS.length]!;
    const rel = `${v.speaker}/${String(n).padStart(4, '0')}.wav`;
    await mkdir(join(outDir, v.speaker), { recursive: true });
    const text = sentences[i]!;
    const file = join(outDir, rel);
    // A file from an earlier, interrupted invocation with the same seed is the same sentence and voice.
    if (!existsSync(file)) {
      try {
        await synthesise(v, text, file);
      } catch (e) {
        // The engines crash on a few sentences (Festival segfaults on some with a pitch target): skip those.
        await rm(file, { force: true });
        await rm(`${file}.txt`, { force: true });
        skipped++;
        console.log(
          `skipped (${v.engine} ${v.voice} failed: ${(e as Error).message.split('\n')[0]}): ${text}`,
        );
        continue;
      }
    }
    const wav = await readWavFile(file);
    const seconds = wav.frames / wav.sampleRateHz;
    total += seconds;
    rows.push(
      [rel, v.speaker, v.engine, v.voice, v.f0Mean ?? '', v.stretch, seconds.toFixed(2), text]
        .map(csvField)
        .join(','),
    );
    n++;
    if (n % 50 === 0) console.log(`${n} utterances, ${(total / 60).toFixed(1)} min`);
  }
  await writeFile(join(outDir, 'MANIFEST.csv'), `${rows.join('\n')}\n`);
  console.log(
    `${n} utterances, ${(total / 60).toFixed(1)} min (${skipped} sentences skipped) of ${sentences.length} → ${outDir}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`)
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
