/**
 * `drivesense eval speech`: scores speech enhancers — the noisy input, the project's logMMSE, the peers
 * RNNoise and DeepFilterNet3, and AVDCNN audio-only and audio-visual — on mixtures of clean speech and noise
 * at fixed SNRs (the TEST split when the folders are the project's corpora) or on ready clean/noisy pairs.
 * The adapter: arguments, which systems can run, DNSMOS, output. The work is in models/speech/evaluate.ts.
 */
import { SPEECH_ENSEMBLE_PATH, loadEvalEnhancer } from '../../models/speech/enhancer-onnx.ts';
import { SERVING_NONE, SERVING_QUALIFIED } from '../../models/speech/mask/settings.ts';
import type {
  SpeechServingKey,
  SpeechServingSettings,
  SpeechServingValues,
} from '../../models/speech/mask/settings.ts';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from '../command.ts';
import { numberOpt, stringOpt, UsageError } from '../command.ts';
import { isEvaluationOffsets, MAX_EVALUATION_OFFSETS } from '../../models/speech/mixing.ts';
import { SERVING_FLAGS_HELP, SERVING_FLAG_OPTIONS, servingFromArgs } from '../serving-flags.ts';
import {
  DEFAULT_EVAL_SNRS_DB,
  enhancerSystem,
  evaluateSpeech,
  evaluationJson,
  loadFolderMixtures,
  loadPairs,
  loadProjectTestSet,
  idealMaskSystem,
  logMmseSystem,
  noisySystem,
  pickExamples,
  projectDataRoot,
  SYSTEM_NAMES,
  textTable,
} from '../../models/speech/evaluate.ts';
import type {
  EvalItem,
  MouthFrames,
  DnsmosScorer,
  SpeechSystem,
  SystemName,
  UnavailableSystem,
} from '../../models/speech/evaluate.ts';
import { Dnsmos } from '../../models/speech/dnsmos.ts';
import { renderSpeechReportHtml } from '../../models/speech/report-html.ts';
import { pairedRows, pairedText } from '../../models/speech/paired-comparison.ts';
import { RnnoisePeer } from '../../../bench/speech/rnnoise.ts';
import { DeepFilterNet3Peer, DFN3_DIR_DEFAULT } from '../../../bench/speech/deepfilternet3.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const DEFAULT_AVDCNN_MODEL = SPEECH_ENSEMBLE_PATH;
export const DEFAULT_DNSMOS_DIR = resolve(REPO_ROOT, '../shared/peers/dnsmos');

/** AVDCNN as the evaluation sees it: noisy 16 kHz (and mouth frames) in, enhanced 16 kHz out. */
export interface AvdcnnEnhancer {
  enhance(noisy16k: Float32Array, mouth?: MouthFrames): Promise<Float32Array>;
  release?(): Promise<void>;
  /**
   * The serving settings in force (given or the model's own; one per member of an ensemble), named in the
   * report when known.
   */
  readonly serving?: readonly SpeechServingSettings[];
}

/** Loads AVDCNN from a model file; injected so the command does not depend on how the model is served. */
export type AvdcnnLoader = (modelFile: string, options?: AvdcnnServing) => Promise<AvdcnnEnhancer>;

/** Serving settings tried by the evaluation instead of the model's own (its metadata). */
export type AvdcnnServing = SpeechServingValues;

export interface EvalSpeechDeps {
  /** AVDCNN loader (default: `loadEvalEnhancer` of src/models/speech/enhancer-onnx.ts). */
  readonly loadAvdcnn?: AvdcnnLoader;
  /** Standard output (default console.log) and progress (default stderr). */
  readonly out?: (text: string) => void;
  readonly progress?: (text: string) => void;
}

/** The default loader: the ONNX enhancer of src/models/speech/enhancer-onnx.ts (the live path). */
export const defaultAvdcnnLoader: AvdcnnLoader = (modelFile, options = {}) =>
  loadEvalEnhancer(modelFile, options);

const HELP = `Usage: drivesense eval speech --speech DIR --noise DIR [--snr=-5,0,5] [--video DIR]
       drivesense eval speech --clean DIR --noisy DIR
         [--json] [--report FILE.html] [--systems LIST] [--model FILE.onnx] [--dnsmos DIR | --no-dnsmos]
         [--dfn3 DIR] [--categories LIST] [--limit N] [--offsets K] [--examples N]

Scores speech enhancers against clean references: STOI, ESTOI, SI-SDR, segmental SNR, DNSMOS (P.835
SIG/BAK/OVRL and P.808, when its models are there) and each system's real-time factor; means per system ×
SNR × noise category and the improvement over the noisy input.

Mixtures (--speech/--noise): every speech file × noise × SNR, noise offsets from fixed seeds. When the folders
are the project's corpora (<data>/audio/speech and <data>/audio/noise), only the TEST split is used
(speakers, utterances and noise spans held out of training); --video <data>/av/grid adds its GRID clips
with their mouth frames. Other folders are used whole (no split is known: make sure the model never saw them).
Ready pairs (--clean/--noisy): files of the same name in both folders (any rate or container; ffmpeg for
non-WAV).

  --snr LIST         mixing SNRs, dB (default ${DEFAULT_EVAL_SNRS_DB.join(',')})
  --systems LIST     of ${SYSTEM_NAMES.join(',')} (default all; unavailable ones are listed with the reason;
                     ideal-mask is the ceiling of AVDCNN's kind of model, computed from the clean reference)
  --model FILE       AVDCNN model, .onnx or an ensemble manifest *.ensemble.json (default ${DEFAULT_AVDCNN_MODEL})
${SERVING_FLAGS_HELP}
  --split NAME       test (default) or validation: the held-out part of the project's corpora; use
                     validation for choices made before testing (e.g. --mask-floor-db), test for scores
  --dnsmos DIR       DNSMOS models (sig_bak_ovr.onnx, model_v8.onnx); default ../shared/peers/dnsmos if present
  --no-dnsmos        skip DNSMOS
  --dfn3 DIR         DeepFilterNet3 ONNX files (default ../shared/peers/deepfilternet3)
  --categories LIST  only these noise categories (e.g. car-interior)
  --limit N          only the first N utterances (or pairs)
  --offsets K        noise offsets per utterance and noise (mixtures; default 1, at most ${MAX_EVALUATION_OFFSETS}): K times
                     the mixtures, spread evenly around the noise from the default set's offset, so that each
                     utterance's mean (the unit of --paired-with) depends less on where in the noise it fell
  --examples N       mixtures with spectrograms in the report (default 3)
  --paired-with SYS  compare every other system with SYS on the same mixtures: per SNR, category and metric,
                     over utterances, the mean difference, its 95 % interval (Student's t), wins/losses/ties
                     and the sign-flip p; in the text when given, in the JSON always (default rnnoise when it
                     runs, the target; 'none' for no comparison)
  --json             print one JSON object instead of the text table
  --report FILE      also write a self-contained HTML report with spectrograms

Exit status: 0 ok, 1 data or model error, 2 bad arguments.`;

/**
 * The mixtures' noise offsets in a note: one fixed offset, or K per utterance and noise, with how many
 * utterance × noise pairs got fewer (a noise span too short for K distinct offsets).
 */
function offsetNote(items: readonly EvalItem[], offsets: number | undefined): string {
  const k = offsets ?? 1;
  if (k === 1) return 'noise offsets';
  const per = new Map<string, Set<number>>();
  for (const it of items) {
    const key = `${it.utterance}|${it.noise}`;
    const s = per.get(key) ?? new Set<number>();
    s.add(it.noiseStart ?? -1);
    per.set(key, s);
  }
  const short = [...per.values()].filter((s) => s.size < k).length;
  return (
    `${k} noise offsets per utterance and noise, spread evenly around the noise from the default set's ` +
    '(mixing.ts spreadOffsets)' +
    (short > 0
      ? `; ${short} of ${per.size} utterance × noise pairs got fewer (a span too short for ${k})`
      : '')
  );
}

function parseList(v: string | undefined): string[] | undefined {
  return v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

function parseSnrs(v: string | undefined): number[] {
  if (v === undefined) return [...DEFAULT_EVAL_SNRS_DB];
  const list = parseList(v) ?? [];
  const snrs = list.map(Number);
  if (list.length === 0 || snrs.some((s) => !Number.isFinite(s)))
    throw new UsageError(`--snr must be a comma-separated list of numbers, got ${JSON.stringify(v)}`);
  return [...new Set(snrs)];
}

interface BuiltSystems {
  readonly systems: SpeechSystem[];
  readonly unavailable: UnavailableSystem[];
  readonly info: Record<string, string>;
}

/**
 * The AVDCNN serving settings for the report: each value in force, marked "given" when the command line set
 * it and "the model's" otherwise; without the loaded values (an injected loader), only the given ones.
 */
export function servingInfo(
  visual: boolean,
  given: AvdcnnServing,
  inForce: AvdcnnEnhancer['serving'],
): string {
  const own = inForce !== undefined && inForce.length > 1 ? "the members' own" : "the model's";
  // The settings that can be off (not named unless given or on for some model; the strengths always are).
  const canBeOff = new Set<SpeechServingKey>([
    'maskFloorDb',
    'maskSmoothingBins',
    'maskSmoothingTime',
    'maskExpansionRatio',
    'pauseGateDb',
  ]);
  const values = (key: SpeechServingKey): string | undefined => {
    const v = inForce?.map((x) => x[key]);
    const off = canBeOff.has(key) ? SERVING_NONE[key] : undefined;
    return v === undefined || v.every((x) => x === off)
      ? undefined
      : v.map((x) => (x === off ? 'none' : String(x))).join(' / ');
  };
  const part = (label: string, g: number | undefined, key: SpeechServingKey, unit = ''): string => {
    const v = g !== undefined ? String(g) : values(key);
    return v === undefined ? '' : `, ${label} ${v}${unit} (${g !== undefined ? 'given' : own})`;
  };
  // With the camera, a given --mask-strength stands for both modes (the enhancer's precedence).
  const givenVisual = given.maskStrengthVisual ?? given.maskStrength;
  return (
    (inForce !== undefined && inForce.length > 1 ? `, ensemble of ${inForce.length}` : '') +
    part('mask floor', given.maskFloorDb, 'maskFloorDb', ' dB') +
    part('mask strength', given.maskStrength, 'maskStrength') +
    (visual ? part('mask strength with the camera', givenVisual, 'maskStrengthVisual') : '') +
    part('gain smoothing over', given.maskSmoothingBins, 'maskSmoothingBins', ' bins') +
    part('gain smoothing in time', given.maskSmoothingTime, 'maskSmoothingTime') +
    part('low-gain expansion ratio', given.maskExpansionRatio, 'maskExpansionRatio') +
    qualifierInfo(given, inForce, own, 'below', 'maskExpansionKneeDb') +
    part('pause gate', given.pauseGateDb, 'pauseGateDb', ' dB') +
    qualifierInfo(given, inForce, own, 'at frame gains below', 'pauseGateThresholdDb')
  );
}

/**
 * A setting that qualifies another's stage (mask/settings.ts `SERVING_QUALIFIED`: the expansion's knee, the
 * pause gate's threshold) for `servingInfo`: always when given; else the models' own where that stage is on
 * (its setting, given or their own, away from none; 'none' for a model where it is off), and nothing when it
 * is on for none.
 */
function qualifierInfo(
  given: AvdcnnServing,
  inForce: AvdcnnEnhancer['serving'],
  own: string,
  label: string,
  key: keyof typeof SERVING_QUALIFIED,
): string {
  const g = given[key];
  if (g !== undefined) return `, ${label} ${g} dB (given)`;
  if (inForce === undefined) return '';
  const stage = SERVING_QUALIFIED[key];
  const each = inForce.map((x) => (given[stage] ?? x[stage]) !== SERVING_NONE[stage]);
  if (!each.some(Boolean)) return '';
  return `, ${label} ${inForce.map((x, i) => (each[i] ? String(x[key]) : 'none')).join(' / ')} dB (${own})`;
}

async function buildSystems(
  names: readonly SystemName[],
  items: readonly EvalItem[],
  opts: { modelFile: string; serving: AvdcnnServing; dfn3Dir: string; loadAvdcnn: AvdcnnLoader },
): Promise<BuiltSystems> {
  const systems: SpeechSystem[] = [];
  const unavailable: UnavailableSystem[] = [];
  const info: Record<string, string> = {};
  let avdcnn: Promise<AvdcnnEnhancer> | undefined;
  let avdcnnReleased = false;
  const hasVideo = items.some((i) => i.video !== undefined);
  for (const name of names) {
    try {
      switch (name) {
        case 'noisy':
          systems.push(noisySystem);
          break;
        case 'logmmse':
          systems.push(logMmseSystem);
          info[name] = 'project logMMSE (src/models/speech/logmmse.ts), defaults';
          break;
        case 'ideal-mask':
          systems.push(idealMaskSystem);
          info[name] =
            "not an enhancer: AVDCNN's training target computed from the clean reference (the truncated " +
            'magnitude mask, live 512/128 STFT, noisy phase, gains in [−25, 0] dB; ideal-mask.ts), the ' +
            'ceiling of a perfect model of its kind; no RTF';
          break;
        case 'rnnoise': {
          const peer = await RnnoisePeer.create();
          systems.push({ name, process: (x) => Promise.resolve(peer.process(x)) });
          info[name] = `${peer.version} (bench/speech/rnnoise.ts), 16 → 48 → 16 kHz`;
          break;
        }
        case 'dfn3': {
          if (!DeepFilterNet3Peer.available(opts.dfn3Dir)) {
            unavailable.push({ name, reason: `DeepFilterNet3 ONNX files not found in ${opts.dfn3Dir}` });
            break;
          }
          const peer = await DeepFilterNet3Peer.create(opts.dfn3Dir);
          systems.push({ name, process: (x) => peer.process(x), release: () => peer.release() });
          info[name] = `DeepFilterNet3 ONNX from ${opts.dfn3Dir} (bench/speech/deepfilternet3.ts), offline`;
          break;
        }
        case 'avdcnn-audio':
        case 'avdcnn-av': {
          if (!existsSync(opts.modelFile)) {
            unavailable.push({ name, reason: `model file ${opts.modelFile} not found` });
            break;
          }
          if (name === 'avdcnn-av' && !hasVideo) {
            unavailable.push({
              name,
              reason: 'no mixture has mouth frames (give --video DIR with the talking-face clips)',
            });
            break;
          }
          avdcnn ??= opts.loadAvdcnn(opts.modelFile, opts.serving);
          const model = await avdcnn;
          const release = async (): Promise<void> => {
            if (avdcnnReleased) return;
            avdcnnReleased = true;
            await model.release?.();
          };
          systems.push(enhancerSystem(name, (x, m) => model.enhance(x, m), name === 'avdcnn-av', release));
          info[name] =
            `AVDCNN ${opts.modelFile}, ${name === 'avdcnn-av' ? 'with mouth frames' : 'audio only (no video)'}` +
            servingInfo(name === 'avdcnn-av', opts.serving, model.serving);
          break;
        }
      }
    } catch (e) {
      unavailable.push({ name, reason: (e as Error).message });
    }
  }
  return { systems, unavailable, info };
}

async function loadScorer(
  explicit: string | undefined,
  disabled: boolean,
  notes: string[],
): Promise<{ scorer: (DnsmosScorer & { release(): Promise<void> }) | null; dir: string | null }> {
  if (disabled) {
    notes.push('DNSMOS skipped (--no-dnsmos).');
    return { scorer: null, dir: null };
  }
  const dir = explicit ?? (existsSync(DEFAULT_DNSMOS_DIR) ? DEFAULT_DNSMOS_DIR : undefined);
  if (dir === undefined) {
    notes.push(`DNSMOS not computed: no --dnsmos DIR and ${DEFAULT_DNSMOS_DIR} is absent.`);
    return { scorer: null, dir: null };
  }
  try {
    const d = await Dnsmos.load(dir);
    if (!d.hasP808) notes.push(`DNSMOS P.808 model not found in ${dir}: P.808 not computed.`);
    return { scorer: d, dir };
  } catch (e) {
    if (explicit !== undefined) throw new Error(`DNSMOS models in ${dir}: ${(e as Error).message}`);
    notes.push(`DNSMOS not computed: ${(e as Error).message}`);
    return { scorer: null, dir: null };
  }
}

/** The command with its dependencies (the AVDCNN loader, output streams) injected. */
export function createEvalSpeechCommand(deps: EvalSpeechDeps = {}): Command {
  const out = deps.out ?? ((t: string) => console.log(t));
  const progress = deps.progress ?? ((t: string) => process.stderr.write(`${t}\n`));
  return {
    name: 'eval speech',
    summary: 'Score speech enhancers (STOI, ESTOI, SI-SDR, segSNR, DNSMOS, RTF) on held-out mixtures',
    help: HELP,
    options: {
      speech: { type: 'string' },
      noise: { type: 'string' },
      video: { type: 'string' },
      snr: { type: 'string' },
      clean: { type: 'string' },
      noisy: { type: 'string' },
      json: { type: 'boolean' },
      report: { type: 'string' },
      dnsmos: { type: 'string' },
      'no-dnsmos': { type: 'boolean' },
      dfn3: { type: 'string' },
      systems: { type: 'string' },
      model: { type: 'string' },
      categories: { type: 'string' },
      limit: { type: 'string' },
      offsets: { type: 'string' },
      examples: { type: 'string' },
      'paired-with': { type: 'string' },
      ...SERVING_FLAG_OPTIONS,
      split: { type: 'string' },
    },
    async run(args) {
      const speechDir = stringOpt(args, 'speech');
      const noiseDir = stringOpt(args, 'noise');
      const cleanDir = stringOpt(args, 'clean');
      const noisyDir = stringOpt(args, 'noisy');
      const videoDir = stringOpt(args, 'video');
      const pairs = cleanDir !== undefined || noisyDir !== undefined;
      const mixing = speechDir !== undefined || noiseDir !== undefined;
      if (pairs === mixing)
        throw new UsageError(`give either --speech and --noise, or --clean and --noisy\n\n${HELP}`);
      if (pairs && (cleanDir === undefined || noisyDir === undefined))
        throw new UsageError('--clean and --noisy go together');
      if (mixing && (speechDir === undefined || noiseDir === undefined))
        throw new UsageError('--speech and --noise go together');
      if (pairs && (videoDir !== undefined || args.values['snr'] !== undefined))
        throw new UsageError('--video and --snr apply to mixtures (--speech/--noise), not to ready pairs');
      for (const [flag, dir] of [
        ['speech', speechDir],
        ['noise', noiseDir],
        ['clean', cleanDir],
        ['noisy', noisyDir],
        ['video', videoDir],
      ] as const)
        if (dir !== undefined && !existsSync(dir))
          throw new UsageError(`--${flag} ${dir}: no such directory`);
      const snrs = parseSnrs(stringOpt(args, 'snr'));
      const requested = parseList(stringOpt(args, 'systems')) ?? [...SYSTEM_NAMES];
      for (const s of requested)
        if (!(SYSTEM_NAMES as readonly string[]).includes(s))
          throw new UsageError(`--systems: unknown system '${s}' (known: ${SYSTEM_NAMES.join(', ')})`);
      const names = SYSTEM_NAMES.filter((n) => requested.includes(n));
      const limitOpt = stringOpt(args, 'limit');
      const limit = limitOpt === undefined ? undefined : numberOpt(args, 'limit', 0);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
        throw new UsageError('--limit must be a positive integer');
      const nExamples = numberOpt(args, 'examples', 3);
      if (!(Number.isInteger(nExamples) && nExamples >= 0))
        throw new UsageError('--examples must be an integer ≥ 0');
      const offsetsOpt = stringOpt(args, 'offsets');
      const offsets = offsetsOpt === undefined ? undefined : numberOpt(args, 'offsets', 1);
      if (offsets !== undefined && !isEvaluationOffsets(offsets))
        throw new UsageError(`--offsets must be an integer from 1 to ${MAX_EVALUATION_OFFSETS}`);
      if (pairs && offsets !== undefined)
        throw new UsageError('--offsets applies to mixtures (--speech/--noise), not to ready pairs');
      const categories = parseList(stringOpt(args, 'categories'));
      const pairedWith = stringOpt(args, 'paired-with');
      if (
        pairedWith !== undefined &&
        pairedWith !== 'none' &&
        !(names as readonly string[]).includes(pairedWith)
      )
        throw new UsageError(
          `--paired-with: '${pairedWith}' is not among the systems requested (${names.join(', ')}), or 'none'`,
        );
      const modelFile = resolve(stringOpt(args, 'model') ?? resolve(REPO_ROOT, DEFAULT_AVDCNN_MODEL));
      const dfn3Dir = resolve(stringOpt(args, 'dfn3') ?? DFN3_DIR_DEFAULT);
      const serving = servingFromArgs(args);
      const split = stringOpt(args, 'split') ?? 'test';
      if (split !== 'test' && split !== 'validation')
        throw new UsageError(`--split must be test or validation, got ${JSON.stringify(split)}`);

      // Items.
      const notes: string[] = [];
      let items: EvalItem[];
      let data: Record<string, unknown>;
      if (pairs) {
        const r = await loadPairs(cleanDir!, noisyDir!, limit !== undefined ? { limit } : {});
        items = r.items;
        notes.push(
          `Ready pairs from ${cleanDir} and ${noisyDir}: no split is known for them; scores are held-out ` +
            'results only if the model never trained on these files.',
          ...r.notes,
        );
        data = { kind: 'pairs', clean: resolve(cleanDir!), noisy: resolve(noisyDir!), pairs: items.length };
      } else {
        const root = projectDataRoot(speechDir!, noiseDir!);
        if (root !== null) {
          const set = await loadProjectTestSet(root, {
            split,
            snrsDb: snrs,
            ...(videoDir !== undefined ? { videoDir } : {}),
            ...(categories !== undefined ? { categories } : {}),
            ...(limit !== undefined ? { limit } : {}),
            ...(offsets !== undefined ? { offsets } : {}),
          });
          items = set.items;
          notes.push(
            `${split.toUpperCase()} split only of the project's corpora in ${root} (split hash ${set.splitHash.slice(0, 12)}): ` +
              `${set.utterances.length} utterance(s) of ${set.speakers.length} speaker(s) and ` +
              `${set.noiseSpans.length} noise span(s) held out of training` +
              (split === 'test' ? ' and validation' : ' (the validation part: for choices, not for scores)') +
              ' (src/models/speech/splits.ts).',
            `Mixtures: buildEvaluationSet (src/models/speech/mixing.ts), RMS level rule, SNRs ${snrs.join(', ')} dB, fixed ${offsetNote(set.items, offsets)} (seed 20180101).`,
            ...set.notes,
          );
          data = {
            kind: split === 'test' ? 'project-test-split' : 'project-validation-split',
            root,
            split,
            splitHash: set.splitHash,
            utterances: set.utterances,
            speakers: set.speakers,
            noiseSpans: set.noiseSpans,
            snrsDb: snrs,
            offsets: offsets ?? 1,
          };
        } else {
          if (categories !== undefined)
            throw new UsageError(
              '--categories applies to the project corpora (categories are folder names here)',
            );
          const r = await loadFolderMixtures(speechDir!, noiseDir!, {
            snrsDb: snrs,
            ...(offsets !== undefined ? { offsets } : {}),
            ...(videoDir !== undefined ? { videoDir } : {}),
            ...(limit !== undefined ? { limit } : {}),
          });
          items = r.items;
          notes.push(
            `Folders ${speechDir} and ${noiseDir} are not the project's corpora: every file is used (no split is ` +
              'known); scores are held-out results only if the model never trained on them.',
            `Mixtures: RMS level rule, SNRs ${snrs.join(', ')} dB, ${offsetNote(r.items, offsets)} from fixed seeds.`,
            ...r.notes,
          );
          data = {
            kind: 'folders',
            speech: resolve(speechDir!),
            noise: resolve(noiseDir!),
            snrsDb: snrs,
            offsets: offsets ?? 1,
          };
        }
      }
      if (items.length === 0) throw new Error('no mixtures to evaluate');

      // Systems and DNSMOS.
      const built = await buildSystems(names, items, {
        modelFile,
        serving,
        dfn3Dir,
        loadAvdcnn: deps.loadAvdcnn ?? defaultAvdcnnLoader,
      });
      const { scorer, dir: dnsmosDir } = await loadScorer(
        stringOpt(args, 'dnsmos'),
        args.values['no-dnsmos'] === true,
        notes,
      );
      if (!built.systems.some((s) => s.name === 'noisy'))
        notes.push('The noisy input was not among the systems: no improvements are computed.');
      const keep = new Set(args.values['report'] !== undefined ? pickExamples(items, nExamples) : []);
      let evaluation;
      try {
        evaluation = await evaluateSpeech(items, built.systems, {
          dnsmos: scorer,
          keep,
          onItem: (done, total, it) => progress(`[${done}/${total}] ${it.id}`),
        });
      } finally {
        for (const s of built.systems) await s.release?.();
        await scorer?.release();
      }
      notes.push(
        'RTF: wall-clock processing time / audio duration, measured in this process per system after one ' +
          'warm-up call; the machine may be shared, so treat it as an upper bound.',
      );

      if (args.values['report'] !== undefined) {
        const file = stringOpt(args, 'report')!;
        const html = renderSpeechReportHtml({
          title: 'Speech enhancement evaluation',
          evaluation,
          unavailable: built.unavailable,
          notes: [...notes, ...Object.entries(built.info).map(([k, v]) => `${k}: ${v}`)],
          generatedAt: new Date().toISOString(),
        });
        await writeFile(file, html);
        notes.push(`Report written to ${file}.`);
      }
      const reference =
        pairedWith === 'none'
          ? undefined
          : (pairedWith ?? (evaluation.systems.includes('rnnoise') ? 'rnnoise' : undefined));
      const paired =
        reference !== undefined && evaluation.systems.includes(reference)
          ? pairedRows(evaluation.items, evaluation.systems, reference)
          : [];
      if (reference !== undefined && !evaluation.systems.includes(reference))
        notes.push(`--paired-with ${reference}: it did not run, so nothing is compared with it.`);
      if (args.values['json'] === true) {
        out(
          JSON.stringify({
            data,
            ...evaluationJson(evaluation),
            systems: {
              run: evaluation.systems,
              unavailable: built.unavailable,
              info: built.info,
            },
            dnsmos: { computed: evaluation.dnsmos, dir: dnsmosDir },
            paired,
            notes,
          }),
        );
      } else {
        const lines = [
          textTable(evaluation),
          '',
          // The text shows the comparison when asked for (it is long: a line per system × metric × group).
          ...(pairedWith !== undefined && paired.length > 0 ? [pairedText(paired), ''] : []),
          ...built.unavailable.map((u) => `not run: ${u.name}: ${u.reason}`),
          ...notes.map((n) => `note: ${n}`),
        ];
        out(lines.join('\n'));
      }
      return 0;
    },
  };
}

export const evalSpeechCommand: Command = createEvalSpeechCommand();

/** For a one-off run without the CLI registration: `node --import tsx src/cli/commands/eval-speech.ts …`. */
if (process.argv[1] !== undefined && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const { parseCommandArgs } = await import('../command.ts');
  try {
    process.exitCode = await evalSpeechCommand.run(
      parseCommandArgs(evalSpeechCommand, process.argv.slice(2)),
    );
  } catch (e) {
    console.error(`drivesense eval speech: ${(e as Error).message}`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}
