/**
 * An ensemble of speech enhancers: every member (one model each) enhances the same chunks, and the output is
 * the sample-by-sample mean of the members' outputs. With mask models that keep the noisy phase and the
 * project's linear overlap-add synthesis, that is exactly the mean of the members' strength-applied masks
 * (ISTFT(Σ Gᵢ·X / n) = Σ ISTFT(Gᵢ·X) / n), so no combined graph is needed and each member keeps its own
 * normalisation, input channels and serving strengths. Pure: members are injected, no clock, no I/O.
 *
 * Members that share a front end (the same STFT, model shape, noise-aware parameters and mode: front-end.ts
 * `sharesFrontEnd`, the committed ensembles) are served by one `SpeechEnhancer.ensemble` instead, which
 * computes the STFT, the noise floor, the prior SNR, the camera input and the synthesis once for all of them
 * and gives the same mean (enhancer-onnx.ts chooses); `EnsembleEnhancer` serves the others.
 *
 * The members must share the sample rate, the STFT window and hop and the look-ahead (checked when the
 * manifest is loaded, enhancer-onnx.ts), so their chunks line up one to one: the same count, event times,
 * segments, start samples and lengths (checked on every push; a mismatch is a bug and throws).
 *
 * Statistics: the stream counters (chunks, samples, frames, gaps, camera, …) are the first member's (every
 * member sees the same input); the model counters (`modelRuns`, `modelErrors`, `modelNonFinite`) are summed
 * over the members. A member whose model run fails passes its frames through (enhancer.ts), so for those
 * frames the ensemble's output is part enhanced, part noisy, and the failure is counted.
 *
 * The manifest (`*.ensemble.json`, `parseEnsembleManifest`): `{ "format": "drivesense.speech-ensemble",
 * "version": 1, "members": ["a.onnx", "b.onnx"] }`, members relative to the manifest's folder, at least two,
 * each a model file (not another manifest), none twice.
 */
import { isJsonObject } from '../common/json.ts';
import type { EnhancedChunk, SpeechEnhancerStats, StreamingSpeechEnhancer } from './enhancer.ts';
import type { MouthFrame } from './camera-input.ts';
import type { SpeechServingSettings } from './mask/settings.ts';

export const ENSEMBLE_MANIFEST_FORMAT = 'drivesense.speech-ensemble';
export const ENSEMBLE_MANIFEST_SUFFIX = '.ensemble.json';

export interface EnsembleManifest {
  readonly format: typeof ENSEMBLE_MANIFEST_FORMAT;
  readonly version: 1;
  /** Model files, relative to the manifest's folder (or absolute). */
  readonly members: readonly string[];
}

/** True when `path` names an ensemble manifest rather than a model file. */
export function isEnsembleManifest(path: string): boolean {
  return path.endsWith(ENSEMBLE_MANIFEST_SUFFIX);
}

/** Checks a parsed manifest (see the file comment); the error names `source` and what is wrong. */
export function parseEnsembleManifest(value: unknown, source: string): EnsembleManifest {
  const fail = (why: string): never => {
    throw new Error(`ensemble manifest ${source}: ${why}`);
  };
  if (!isJsonObject(value)) return fail('not a JSON object');
  const o = value;
  if (o['format'] !== ENSEMBLE_MANIFEST_FORMAT)
    fail(`format must be ${JSON.stringify(ENSEMBLE_MANIFEST_FORMAT)}, got ${JSON.stringify(o['format'])}`);
  if (o['version'] !== 1) fail(`version must be 1, got ${JSON.stringify(o['version'])}`);
  const members = o['members'];
  if (!Array.isArray(members) || !members.every((m): m is string => typeof m === 'string' && m !== ''))
    return fail('members must be a list of model file names');
  if (members.length < 2) fail(`an ensemble needs at least two members, got ${members.length}`);
  for (const m of members) {
    if (isEnsembleManifest(m)) fail(`member ${m} is itself an ensemble (members must be model files)`);
    if (members.indexOf(m) !== members.lastIndexOf(m)) fail(`member ${m} is listed twice`);
  }
  return { format: ENSEMBLE_MANIFEST_FORMAT, version: 1, members };
}

/** The members' chunks of one push, averaged; throws if they do not line up (see the file comment). */
export function averageChunks(perMember: readonly (readonly EnhancedChunk[])[]): EnhancedChunk[] {
  const first = perMember[0];
  if (first === undefined) throw new Error('ensemble: no members');
  const n = perMember.length;
  return first.map((c, k) => {
    const samples = new Float32Array(c.samples.length);
    for (const chunks of perMember) {
      const x = chunks[k];
      if (
        chunks.length !== first.length ||
        x === undefined ||
        x.tUs !== c.tUs ||
        x.segment !== c.segment ||
        x.startSample !== c.startSample ||
        x.samples.length !== c.samples.length
      )
        throw new Error(
          `ensemble: the members' outputs do not line up (chunk ${k}: ${first.length} chunks, ` +
            `${c.samples.length} samples at ${c.tUs} µs in the first member)`,
        );
      for (let i = 0; i < samples.length; i++) samples[i]! += x.samples[i]!;
    }
    for (let i = 0; i < samples.length; i++) samples[i]! /= n;
    return { ...c, samples };
  });
}

/** The stream counters of the first member, the model counters summed (see the file comment). */
export function mergeStats(members: readonly SpeechEnhancerStats[]): SpeechEnhancerStats {
  const first = members[0];
  if (first === undefined) throw new Error('ensemble: no members');
  const sum = (k: 'modelRuns' | 'modelErrors' | 'modelNonFinite'): number =>
    members.reduce((a, s) => a + s[k], 0);
  const lastError = members.map((s) => s.lastModelError).findLast((e) => e !== undefined);
  const { lastModelError: _omit, ...rest } = first;
  return {
    ...rest,
    camera: { ...first.camera },
    modelRuns: sum('modelRuns'),
    modelErrors: sum('modelErrors'),
    modelNonFinite: sum('modelNonFinite'),
    ...(lastError !== undefined ? { lastModelError: lastError } : {}),
  };
}

export class EnsembleEnhancer implements StreamingSpeechEnhancer {
  readonly sampleRateHz: number;
  readonly mode: StreamingSpeechEnhancer['mode'];
  readonly delay: StreamingSpeechEnhancer['delay'];
  readonly outputLagSamples: number;

  constructor(readonly members: readonly StreamingSpeechEnhancer[]) {
    const first = members[0];
    if (first === undefined || members.length < 2)
      throw new RangeError(`ensemble: at least two members, got ${members.length}`);
    for (const m of members) {
      if (m.sampleRateHz !== first.sampleRateHz || m.outputLagSamples !== first.outputLagSamples)
        throw new RangeError(
          `ensemble: members at ${m.sampleRateHz} Hz / lag ${m.outputLagSamples} and ` +
            `${first.sampleRateHz} Hz / lag ${first.outputLagSamples} do not line up`,
        );
    }
    this.sampleRateHz = first.sampleRateHz;
    this.mode = first.mode;
    this.delay = first.delay;
    this.outputLagSamples = first.outputLagSamples;
  }

  /** Every member's settings, in member order. */
  get memberServing(): SpeechServingSettings[] {
    return this.members.map((m) => m.serving);
  }

  /** The first member's settings (each member applies its own; `memberServing` has them all). */
  get serving(): SpeechServingSettings {
    const first = this.members[0];
    if (first === undefined) throw new Error('ensemble: no members');
    return first.serving;
  }

  stats(): SpeechEnhancerStats {
    return mergeStats(this.members.map((m) => m.stats()));
  }

  async push(
    samples: Float32Array,
    tUs: number,
    mouthFrames: readonly MouthFrame[] = [],
  ): Promise<EnhancedChunk[]> {
    return averageChunks(await Promise.all(this.members.map((m) => m.push(samples, tUs, mouthFrames))));
  }

  async pushChunk(
    chunk: Parameters<StreamingSpeechEnhancer['pushChunk']>[0],
    mouthFrames: readonly MouthFrame[] = [],
  ): Promise<{ chunks: EnhancedChunk[]; refused?: string }> {
    const results = await Promise.all(this.members.map((m) => m.pushChunk(chunk, mouthFrames)));
    const refused = results[0]?.refused;
    if (refused !== undefined) return { chunks: [], refused };
    return { chunks: averageChunks(results.map((r) => r.chunks)) };
  }

  async flush(): Promise<EnhancedChunk[]> {
    return averageChunks(await Promise.all(this.members.map((m) => m.flush())));
  }
}
