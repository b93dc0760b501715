/**
 * `drivesense train speech`: trains the AVDCNN speech enhancer on the real corpus (src/models/speech/train.ts;
 * the adapter: argument parsing, data loading, signals, the progress log). Speech and noise are mixed on the
 * fly from the TRAIN split only; the fixed validation set drives early stopping. Checkpoints go to
 * `--checkpoints` (every K steps, every validation round, and on SIGINT/SIGTERM); re-running the same command
 * resumes exactly where the last checkpoint left off. At the end (or with `--export-only`) the best weights
 * are exported to ONNX with a sidecar, checked against TF.js (≤ 1e-4) and a JSON report is written beside it.
 *
 * Exit status: 0 done, 1 data/training/parity error, 2 bad arguments, 130/143 interrupted by SIGINT/SIGTERM
 * (a checkpoint was saved first; run the same command again to resume).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from '../command.ts';
import { intOpt, numberOpt, stringOpt, UsageError } from '../command.ts';
import { selectTrainingBackend } from '../../models/common/backend.ts';
import type { AvdcnnConfig } from '../../models/speech/avdcnn.ts';
import { AVDCNN_DEFAULTS, resolveAvdcnnConfig } from '../../models/speech/avdcnn.ts';
import { loadExtraSpeech, loadSplitPools, prepareSpeechData } from '../../models/speech/dataset.ts';
import {
  defaultStftFor,
  exportTrainedSpeechModel,
  loadBestSpeechCheckpoint,
  NOISE_TRACKERS,
  reportPathFor,
  SPEECH_TRAIN_TARGETS,
  trainSpeechModel,
} from '../../models/speech/train.ts';
import type { NoiseTrackerKind, SpeechTrainTarget } from '../../models/speech/train.ts';
import {
  LOG_GAIN_FLOOR_DB,
  UNDER_WEIGHT_MAX,
  isSignalWeight,
  isUnderWeight,
} from '../../models/speech/examples.ts';
import { SPEECH_RATE_HZ } from '../../models/speech/media.ts';
import { DEFAULT_EXTRA_SHARE, parseCategoryWeights } from '../../models/speech/mixing.ts';
import { MOUTH_AUGMENT } from '../../models/speech/visual-augment.ts';
import { centringError } from '../../models/speech/mouth-centring.ts';
import { NOISE_CATEGORIES } from '../../models/speech/corpus.ts';
import type { NoiseCategory } from '../../models/speech/corpus.ts';

export const DEFAULT_SPEECH_DATA = '../shared/data';
export const DEFAULT_SPEECH_MODEL_DIR = 'src/models/speech/model';

export function defaultSpeechModelPath(context: AvdcnnConfig['context']): string {
  return path.join(DEFAULT_SPEECH_MODEL_DIR, context === 'causal' ? 'avdcnn-causal.onnx' : 'avdcnn.onnx');
}

const HELP = `Usage: drivesense train speech [--context causal|symmetric] [--out FILE.onnx] [--checkpoints DIR]
                               [--log FILE] [--hours H] [--max-steps N] [--batch 32] [--seed N]
                               [--fc 1000,800,600,1500] [--dropout 0.1] [--visual-dropout 0.25] [--noise-aware]
                               [--prior-snr] [--noise-tracker minimum|spp] [--context-frames 5] [--data DIR]
                               [--extra-speech DIR [--extra-share ${DEFAULT_EXTRA_SHARE}]]
                               [--init-from CKPT_DIR --lr X] [--export-only]

Trains the AVDCNN speech enhancer (Hou et al. 2018) on speech × noise mixed on the fly (SNR uniform in
[-5, 15] dB) from the training split only, early-stopping on the fixed validation set, then exports the
best weights to ONNX (sidecar .onnx.json, parity check against TF.js ≤ 1e-4, report .report.json).
Re-running the same command resumes from the last checkpoint (mixer position, RNG, optimizer state).

  --context MODE        causal (live: frames t-(N-1)..t, 512/128 STFT, 40 ms delay; default) or symmetric
                        (the paper: t-2..t+2 for N = 5, 512/320 STFT, 92 ms)
  --context-frames N    frames of context per example, N ≥ 2 (default 5, the paper's): causal t-(N-1)..t
                        (more past, the same 40 ms delay); symmetric t-⌊N/2⌋..t+(N-1-⌊N/2⌋)
  --out FILE.onnx       the model (default ${defaultSpeechModelPath('causal')}, or
                        ${defaultSpeechModelPath('symmetric')} for symmetric)
  --checkpoints DIR     checkpoints (default out/train-speech-<context>/ckpt)
  --log FILE            progress log, appended (default out/train-speech-<context>/train.log)
  --hours H             stop training after H hours of wall time in this invocation, then export the best
  --max-steps N         stop after N steps in total (default 100000)
  --batch N             examples (STFT frames) per step (default 32)
  --seed N              weights, mixing, normaliser and augmentation seed (default 1)
  --fc A,B,C,D          FC1, FC2, FC_a3, FC_v3 units (default 1000,800,600,1500, the paper's)
  --dropout P           dropout rate after FC1 and FC2, in [0, 1) (default 0.1, the paper's)
  --visual-dropout P    probability that an example's visual input is zeroed (default 0.25)
  --lr X                RMSprop learning rate (default 1e-4, the paper's)
  --val-every N         steps between validation rounds (default 500)
  --val-frames N        validation frames used, every k-th frame of the fixed set (default 4096)
  --checkpoint-every N  steps between checkpoints besides validation rounds (default 250)
  --patience N          validation rounds without improvement before stopping (default 10)
  --gain-db G           random level per training mixture, uniform ±G dB (default 10)
  --speed LIST          speed perturbation of the training speech, factors drawn per mixture (e.g.
                        0.9,1,1.1; default none); perturbed talking-face clips train as audio-only
  --target T            what the clean output learns: log-gain (default; bounded ln-power gain), gain (the
                        truncated magnitude mask |C|/|X| in [G_min, 1]) or ln-power (the paper's spectrum)
  --gain-floor-db G     G_min of the log-gain and gain targets, amplitude dB < 0 (default -25)
  --signal-weight Q     gain target: weight each bin's squared mask error by the noisy power^Q, mean 1 per
                        mixture (0 < Q <= 1; 1 = signal approximation, the masked output's magnitude error);
                        default unweighted
  --under-weight B      gain target: an asymmetric loss, a gain predicted below its target (speech suppressed)
                        costs 1 + B times its squared error, one above it (noise left) the squared error
                        (0 < B <= 10); default the plain MSE
  --ema-decay D         validate, keep and export an exponential moving average of the weights (decay D in
                        (0, 1), e.g. 0.999; ramped up over the first steps); default the raw weights
  --noise-aware         a second audio input channel: the a posteriori SNR over a causal noise floor
                        (minimum statistics over 1.5 s), so the model knows the cabin's noise level
  --prior-snr           with --noise-aware (implied): a third channel, the decision-directed a priori SNR
                        over that noise floor (smoothed in noise, quick at speech onsets), as logMMSE sees it
  --noise-tracker T     with --noise-aware: how the noise is tracked, 'minimum' (minimum statistics, the
                        default) or 'spp' (speech presence probability, unbiased, smoothing 0.98)
  --init-from DIR       fine-tune: start a new run (its own --checkpoints) from the best weights and normaliser
                        of the run checkpointed in DIR, with a fresh optimiser, typically at a lower --lr;
                        every other model option must be that run's; the run validates at step 0 and keeps
                        the starting weights unless it beats them; give it again to resume
  --log-every N         steps between progress lines (default 50)
  --data DIR            data root with audio/speech, audio/noise, av/grid (default ${DEFAULT_SPEECH_DATA})
  --extra-speech DIR    training-only speech, DIR/<speaker>/*.wav (e.g. scripts/synthetic-speech.ts): never
                        validated or tested on; refused if a file or speaker is held out for evaluation
  --extra-share P       share of training mixtures whose speech comes from --extra-speech, in [0, 1]
                        (default ${DEFAULT_EXTRA_SHARE})
  --noise-weights LIST  relative weights of the noise categories in the training draw, category=weight,…
                        (e.g. car-interior=3: 3 of 7 mixtures with car noise; a category not named weighs 1;
                        default uniform over ${NOISE_CATEGORIES.join(', ')})
  --audio-only          do not load the GRID videos' mouth crops (AV clips train as audio-only)
  --visual-augment      augment each talking-face mixture's mouth crops (input and lip target) by one random
                        transform: mirror image (p ${MOUTH_AUGMENT.mirrorProbability}), shift ±${MOUTH_AUGMENT.shiftX} / ±${MOUTH_AUGMENT.shiftY} pixels, contrast ×[${MOUTH_AUGMENT.contrast.join(', ')}],
                        brightness ±${MOUTH_AUGMENT.brightness[1]} (src/models/speech/visual-augment.ts); default none
  --visual-centre S     give the visual branch (input and lip target) each mouth crop minus the causal running
                        mean of the crops before it, time constant S seconds (src/models/speech/mouth-centring.ts;
                        recorded in the sidecar, the enhancer does the same); default raw crops
  --export-only         export the best checkpoint in --checkpoints (no training)

Exit status: 0 ok, 1 data, training or parity error, 2 bad arguments, 130/143 interrupted (checkpoint saved).`;

/** `--noise-weights` parsed (undefined when not given); UsageError if malformed. */
function noiseWeightsOf(text: string | undefined): Partial<Record<NoiseCategory, number>> | undefined {
  if (text === undefined) return undefined;
  try {
    const w = parseCategoryWeights(text);
    if (NOISE_CATEGORIES.every((c) => (w[c] ?? 1) === 0))
      throw new RangeError('noise weights: every category weighs 0');
    return w;
  } catch (e) {
    throw new UsageError(`--noise-weights: ${(e as Error).message}`);
  }
}

/** The model configuration the arguments ask for (context, sizes, rates, input channels); UsageError if bad. */
export function speechConfigFromArgs(args: Parameters<Command['run']>[0]): AvdcnnConfig {
  const context = stringOpt(args, 'context') ?? 'causal';
  if (context !== 'causal' && context !== 'symmetric')
    throw new UsageError(`--context must be causal or symmetric, got ${JSON.stringify(context)}`);
  const fcText = stringOpt(args, 'fc') ?? '1000,800,600,1500';
  const fc = fcText.split(',').map(Number);
  if (fc.length !== 4 || !fc.every((n) => Number.isInteger(n) && n >= 1))
    throw new UsageError(`--fc needs four positive integers (FC1,FC2,FC_a3,FC_v3), got ${fcText}`);
  const contextFrames = intOpt(args, 'context-frames', AVDCNN_DEFAULTS.contextFrames, 2);
  try {
    return resolveAvdcnnConfig({
      context,
      contextFrames,
      fc1Units: fc[0]!,
      fc2Units: fc[1]!,
      fcAudioUnits: fc[2]!,
      fcVisualUnits: fc[3]!,
      dropout: numberOpt(args, 'dropout', AVDCNN_DEFAULTS.dropout),
      visualAbsentProbability: numberOpt(args, 'visual-dropout', 0.25),
      learningRate: numberOpt(args, 'lr', 1e-4),
      audioChannels: args.values['prior-snr'] === true ? 3 : args.values['noise-aware'] === true ? 2 : 1,
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message);
  }
}

export const trainSpeechCommand: Command = {
  name: 'train speech',
  summary: 'Train the AVDCNN speech enhancer (on-the-fly mixing, checkpoints, resume, ONNX export)',
  help: HELP,
  options: {
    context: { type: 'string' },
    'context-frames': { type: 'string' },
    out: { type: 'string' },
    checkpoints: { type: 'string' },
    log: { type: 'string' },
    hours: { type: 'string' },
    'max-steps': { type: 'string' },
    batch: { type: 'string' },
    seed: { type: 'string' },
    fc: { type: 'string' },
    dropout: { type: 'string' },
    'visual-dropout': { type: 'string' },
    lr: { type: 'string' },
    'val-every': { type: 'string' },
    'val-frames': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    patience: { type: 'string' },
    'gain-db': { type: 'string' },
    speed: { type: 'string' },
    target: { type: 'string' },
    'gain-floor-db': { type: 'string' },
    'signal-weight': { type: 'string' },
    'under-weight': { type: 'string' },
    'ema-decay': { type: 'string' },
    'log-every': { type: 'string' },
    data: { type: 'string' },
    'audio-only': { type: 'boolean' },
    'visual-augment': { type: 'boolean' },
    'visual-centre': { type: 'string' },
    'noise-aware': { type: 'boolean' },
    'prior-snr': { type: 'boolean' },
    'noise-tracker': { type: 'string' },
    'export-only': { type: 'boolean' },
    'init-from': { type: 'string' },
    'extra-speech': { type: 'string' },
    'extra-share': { type: 'string' },
    'noise-weights': { type: 'string' },
  },
  async run(args) {
    if (args.positionals.length > 0)
      throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const config = speechConfigFromArgs(args);
    const { context } = config;
    const fc = [config.fc1Units, config.fc2Units, config.fcAudioUnits, config.fcVisualUnits];
    const seed = intOpt(args, 'seed', 1, 0);
    const hours = stringOpt(args, 'hours') !== undefined ? numberOpt(args, 'hours', 0) : undefined;
    if (hours !== undefined && !(hours > 0)) throw new UsageError('--hours must be > 0');
    const outDir = `out/train-speech-${context}`;
    const onnxPath = stringOpt(args, 'out') ?? defaultSpeechModelPath(context);
    if (!onnxPath.endsWith('.onnx')) throw new UsageError('--out must end in .onnx');
    const checkpointDir = stringOpt(args, 'checkpoints') ?? path.join(outDir, 'ckpt');
    const logFile = stringOpt(args, 'log') ?? path.join(outDir, 'train.log');
    mkdirSync(path.dirname(logFile), { recursive: true });
    const log = (line: string): void => {
      const l = `${new Date().toISOString()} ${line}`;
      console.log(l);
      appendFileSync(logFile, `${l}\n`);
    };
    const command = {
      context,
      contextFrames: config.contextFrames,
      fc,
      seed,
      noiseAware: config.audioChannels >= 2,
      priorSnr: config.audioChannels === 3,
      noiseTracker: stringOpt(args, 'noise-tracker') ?? 'minimum',
      batch: intOpt(args, 'batch', 32),
      hours: hours ?? null,
      maxSteps: intOpt(args, 'max-steps', 100_000),
      dropout: config.dropout,
      visualDropout: config.visualAbsentProbability,
      learningRate: config.learningRate,
      valEvery: intOpt(args, 'val-every', 500),
      valFrames: intOpt(args, 'val-frames', 4096),
      checkpointEvery: intOpt(args, 'checkpoint-every', 250),
      patience: intOpt(args, 'patience', 10),
      gainDb: numberOpt(args, 'gain-db', 10),
      speed: (stringOpt(args, 'speed') ?? '')
        .split(',')
        .filter((s) => s.trim() !== '')
        .map(Number),
      target: stringOpt(args, 'target') ?? 'log-gain',
      gainFloorDb: numberOpt(args, 'gain-floor-db', LOG_GAIN_FLOOR_DB),
      signalWeight:
        stringOpt(args, 'signal-weight') !== undefined ? numberOpt(args, 'signal-weight', 1) : undefined,
      underWeight:
        stringOpt(args, 'under-weight') !== undefined ? numberOpt(args, 'under-weight', 1) : undefined,
      emaDecay: stringOpt(args, 'ema-decay') !== undefined ? numberOpt(args, 'ema-decay', 0.999) : undefined,
      logEvery: intOpt(args, 'log-every', 50),
      initFrom: stringOpt(args, 'init-from') ?? null,
      extraSpeech: stringOpt(args, 'extra-speech') ?? null,
      extraShare:
        stringOpt(args, 'extra-share') !== undefined ? numberOpt(args, 'extra-share', 0.5) : undefined,
      noiseWeights: noiseWeightsOf(stringOpt(args, 'noise-weights')),
      visualAugment: args.values['visual-augment'] === true,
      visualCentreS:
        stringOpt(args, 'visual-centre') !== undefined ? numberOpt(args, 'visual-centre', 1) : undefined,
      checkpoints: checkpointDir,
      out: onnxPath,
    };
    if (!(command.gainDb >= 0)) throw new UsageError('--gain-db must be ≥ 0');
    if (!(NOISE_TRACKERS as readonly string[]).includes(command.noiseTracker))
      throw new UsageError(`--noise-tracker must be one of ${NOISE_TRACKERS.join(', ')}`);
    if (command.noiseTracker !== 'minimum' && !command.noiseAware)
      throw new UsageError('--noise-tracker needs --noise-aware (or --prior-snr)');
    if (command.visualAugment && args.values['audio-only'] === true)
      throw new UsageError('--visual-augment augments mouth crops, which --audio-only does not load');
    if (command.visualCentreS !== undefined) {
      if (args.values['audio-only'] === true)
        throw new UsageError('--visual-centre centres mouth crops, which --audio-only does not load');
      const why = centringError(command.visualCentreS);
      if (why !== undefined) throw new UsageError(`--visual-centre: ${why}`);
    }
    if (command.speed.some((f) => !(f > 0.5 && f < 2)))
      throw new UsageError('--speed must be a comma-separated list of factors in (0.5, 2)');
    if (!(SPEECH_TRAIN_TARGETS as readonly string[]).includes(command.target))
      throw new UsageError(`--target must be one of ${SPEECH_TRAIN_TARGETS.join(', ')}`);
    if (!(Number.isFinite(command.gainFloorDb) && command.gainFloorDb < 0))
      throw new UsageError('--gain-floor-db must be a number < 0');
    if (command.signalWeight !== undefined) {
      if (!isSignalWeight(command.signalWeight))
        throw new UsageError('--signal-weight must be a number in (0, 1]');
      if (command.target !== 'gain') throw new UsageError('--signal-weight needs --target gain');
    }
    if (command.underWeight !== undefined) {
      if (!isUnderWeight(command.underWeight))
        throw new UsageError(`--under-weight must be a number in (0, ${UNDER_WEIGHT_MAX}]`);
      if (command.target !== 'gain') throw new UsageError('--under-weight needs --target gain');
    }
    if (command.extraShare !== undefined) {
      if (command.extraSpeech === null) throw new UsageError('--extra-share needs --extra-speech');
      if (!(command.extraShare >= 0 && command.extraShare <= 1))
        throw new UsageError('--extra-share must be a number in [0, 1]');
    }
    if (command.emaDecay !== undefined && !(command.emaDecay > 0 && command.emaDecay < 1))
      throw new UsageError('--ema-decay must be a number in (0, 1)');
    if (command.initFrom !== null && path.resolve(command.initFrom) === path.resolve(checkpointDir))
      throw new UsageError("--init-from must name another run's checkpoints, not --checkpoints");
    if (command.initFrom !== null && args.values['export-only'] === true)
      throw new UsageError(
        '--init-from starts a training run; --export-only exports one (give --checkpoints)',
      );

    const backend = await selectTrainingBackend({ log });
    log(`drivesense train speech ${JSON.stringify(command)}`);

    if (args.values['export-only'] === true) {
      const { model, state, extra } = await loadBestSpeechCheckpoint(checkpointDir);
      try {
        const report = await exportTrainedSpeechModel({
          model,
          state,
          extra,
          onnxPath,
          status: 'export-only',
          examplesPerS: null,
          data: extra.data ?? {
            note: 'exported from a checkpoint saved without a data description; see the training log',
          },
          backend: backend.backend,
          // The model's settings come from the checkpoint (the report's `config`); the training options here
          // would only be this invocation's defaults, so the report records what the export was asked.
          command: { exportOnly: true, checkpoints: checkpointDir, out: onnxPath },
          log,
        });
        log(`wrote ${onnxPath} (${report.id}) and ${reportPathFor(onnxPath)}`);
      } finally {
        model.dispose();
      }
      return 0;
    }

    const dataRoot = stringOpt(args, 'data') ?? DEFAULT_SPEECH_DATA;
    const stft = defaultStftFor(context);
    log(
      `loading speech data from ${dataRoot} (mouth crops aligned to the ${stft.windowLength}/${stft.hop} STFT)`,
    );
    const data = await prepareSpeechData(dataRoot, {
      align: { stft },
      ...(args.values['audio-only'] === true ? { audioOnly: true } : {}),
    });
    const controller = new AbortController();
    let signalName: NodeJS.Signals | undefined;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (signalName !== undefined) return;
      signalName = sig;
      log(`${sig}: stopping after the current step and saving a checkpoint`);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const splitTrain = await loadSplitPools(data, 'train');
      const extra = command.extraSpeech !== null ? await loadExtraSpeech(command.extraSpeech) : undefined;
      const train = extra !== undefined ? { ...splitTrain, extra: extra.utterances } : splitTrain;
      // What the extra speech is, for the log and the report.
      const extraSpeech =
        extra !== undefined
          ? {
              dir: extra.catalog.root,
              utterances: extra.utterances.length,
              seconds: extra.utterances.reduce((a, u) => a + u.samples.length, 0) / SPEECH_RATE_HZ,
              speakers: [...new Set(extra.catalog.utterances.map((u) => u.speaker))],
              share: command.extraShare ?? DEFAULT_EXTRA_SHARE,
              use: 'training only',
            }
          : undefined;
      if (extraSpeech !== undefined)
        log(
          `extra speech ${extraSpeech.dir}: ${extraSpeech.utterances} utterances, ` +
            `${(extraSpeech.seconds / 60).toFixed(1)} min, speakers ${extraSpeech.speakers.join(' ')}; ` +
            `share of training mixtures ${extraSpeech.share}`,
        );
      const validation = await loadSplitPools(data, 'validation');
      const c = data.counts;
      log(
        `split ${data.split.hash.slice(0, 16)}: train ${c.train.utterances} utterances (${c.train.speakers} speakers, ` +
          `${c.train.avUtterances} AV), validation ${c.validation.utterances} (${c.validation.speakers} speakers); ` +
          `test ${c.test.utterances} utterances never loaded`,
      );
      const dataDescription: Record<string, unknown> = {
        root: path.resolve(dataRoot),
        splitHash: data.split.hash,
        counts: data.counts,
        train: { speakers: data.split.parts.train.speakers, noise: data.split.parts.train.noise },
        validation: {
          speakers: data.split.parts.validation.speakers,
          noise: data.split.parts.validation.noise,
        },
        testHeldOut: { speakers: data.split.parts.test.speakers, noise: data.split.parts.test.noise },
        mixing:
          'on the fly, SNR uniform [-5, 15] dB (rms level), train split only; validation -5/0/5 dB' +
          (command.noiseWeights !== undefined
            ? `; noise categories weighted ${JSON.stringify(command.noiseWeights)} (others 1)`
            : '') +
          (command.visualAugment
            ? '; talking-face mouth crops augmented per mixture (mirror, shift, contrast, brightness)'
            : '') +
          (command.visualCentreS !== undefined
            ? `; mouth crops centred on their causal running mean (τ ${command.visualCentreS} s)`
            : ''),
        audioOnly: args.values['audio-only'] === true,
        licences: [...new Set(data.catalog.noises.map((n) => n.licence))],
        ...(extraSpeech !== undefined ? { extraSpeech } : {}),
      };
      const result = await trainSpeechModel({
        split: data.split,
        data: dataDescription,
        train,
        validation,
        model: config,
        stft,
        checkpointDir,
        batchSize: command.batch,
        seed,
        gainDb: command.gainDb,
        ...(command.speed.length > 0 ? { speedFactors: command.speed } : {}),
        ...(command.visualAugment ? { visualAugment: true } : {}),
        ...(command.visualCentreS !== undefined ? { visualCentreS: command.visualCentreS } : {}),
        target: command.target as SpeechTrainTarget['kind'],
        gainFloorDb: command.gainFloorDb,
        ...(command.signalWeight !== undefined ? { signalWeight: command.signalWeight } : {}),
        ...(command.underWeight !== undefined ? { underWeight: command.underWeight } : {}),
        ...(command.noiseTracker !== 'minimum'
          ? { noiseTracker: command.noiseTracker as NoiseTrackerKind }
          : {}),
        ...(command.emaDecay !== undefined ? { averageDecay: command.emaDecay } : {}),
        ...(command.initFrom !== null ? { initFrom: command.initFrom } : {}),
        ...(command.extraShare !== undefined ? { extraShare: command.extraShare } : {}),
        ...(command.noiseWeights !== undefined ? { noiseWeights: command.noiseWeights } : {}),
        validationEvery: command.valEvery,
        validationFrames: command.valFrames,
        checkpointEvery: command.checkpointEvery,
        patience: command.patience,
        maxSteps: command.maxSteps,
        logEvery: command.logEvery,
        ...(hours !== undefined ? { timeBudgetS: hours * 3600 } : {}),
        signal: controller.signal,
        log,
      });
      try {
        if (result.status === 'interrupted') return signalName === 'SIGTERM' ? 143 : 130;
        const report = await exportTrainedSpeechModel({
          model: result.model,
          state: result.state,
          extra: result.extra,
          onnxPath,
          status: result.status,
          examplesPerS: result.examplesPerS,
          data: dataDescription,
          backend: backend.backend,
          command,
          log,
        });
        log(
          `wrote ${onnxPath} (${report.id}); best validation ${report.bestValidation?.toFixed(4) ?? '—'} at step ` +
            `${report.bestStep ?? '—'}; report ${reportPathFor(onnxPath)}`,
        );
        return 0;
      } finally {
        result.model.dispose();
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await data.loader.close();
    }
  },
};
