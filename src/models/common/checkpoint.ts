/**
 * Training checkpoints that survive a killed process: model weights, optimizer state, epoch/step, best
 * validation score, RNG state and free-form progress, saved atomically so a run killed at any instant
 * resumes from the last complete checkpoint.
 *
 * On-disk layout of a checkpoint directory:
 *
 *   ckpt-00000012/          one complete checkpoint (sequence number 12)
 *     manifest.json         format, state, tensor index (name, shape, dtype, byte offset), SHA-256 of the files
 *     weights.bin           model weights, model.weights order (trainable and not: BN moving statistics too)
 *     optimizer.bin         optimizer state (e.g. Adam: iterations, first and second moments)
 *     average.bin           only when saved with `average`: a moving average of the weights (same order and
 *                           shapes as weights.bin), which a trainer validates and exports instead of the raw ones
 *   latest.json             {"sequence": 12, "dir": "ckpt-00000012"}
 *   best.json               the same, for the checkpoint saved with `best: true` (never pruned)
 *
 * Atomicity: a checkpoint is written into `.tmp-…` (files flushed to disk, manifest last), the directory
 * is fsynced and renamed to `ckpt-N` (atomic within one file system), then `latest.json` is replaced by
 * write-temp-then-rename. A crash leaves either the previous state or a stray `.tmp-…` (removed by the next
 * save or load); a crash between the rename and the pointer update is covered by loading the newest complete
 * `ckpt-*` whose manifest and checksums verify, whatever the pointer says.
 *
 * Binary format: little-endian raw tensor data (float32 or int32), concatenated at the offsets in the
 * manifest. Weights are matched to a model by position and checked by shape (TF.js's automatic layer names
 * change between processes, so names are recorded for diagnostics only).
 *
 * Not captured: TF.js's own random state (dropout masks, tf.random*) — draw anything that must resume
 * identically from {@link SeededRandom} and store its state here.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RandomState } from './rng.ts';

export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps completed (all epochs). */
  step: number;
  /** Best validation score so far (higher is better, or say otherwise in `extra`), null before any. */
  bestScore: number | null;
  /** Epoch of the best score. */
  bestEpoch: number | null;
  /** Epochs since the best score (early stopping). */
  epochsWithoutImprovement: number;
  /** Generator state for data order and augmentation. */
  rng: RandomState;
  /** Per-epoch metrics so far. */
  history: Record<string, number>[];
  /** Anything else the trainer needs to resume (config hash, data split, …); JSON. */
  extra?: Record<string, unknown>;
}

/** The state of a run that has not trained yet: nothing done, no best score, the generator at `rng`. */
export function initialTrainingState(rng: RandomState): TrainingState {
  return {
    epoch: 0,
    step: 0,
    bestScore: null,
    bestEpoch: null,
    epochsWithoutImprovement: 0,
    rng,
    history: [],
  };
}

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  byteLength: number;
}

interface Manifest {
  format: 'drivesense.checkpoint';
  version: 1;
  sequence: number;
  state: TrainingState;
  weights: TensorEntry[];
  optimizer: { className: string; config: unknown; tensors: TensorEntry[] } | null;
  /** Present when the checkpoint carries an average of the weights (average.bin). */
  average?: TensorEntry[];
  sha256: { 'weights.bin': string; 'optimizer.bin': string; 'average.bin'?: string };
}

export interface CheckpointInfo {
  sequence: number;
  path: string;
  state: TrainingState;
}

export interface CheckpointStoreOptions {
  /** Complete checkpoints to keep besides the best one (default 3, at least 1). */
  keep?: number;
}

export interface SaveOptions {
  /** Also record this checkpoint as the best one (kept until a better one replaces it). */
  best?: boolean;
  /** A moving average of the weights to save beside them (`model.weights` order and shapes). */
  average?: readonly tf.Tensor[];
}

export interface LoadOptions {
  /**
   * Which weights go into the model: the raw ones (default) or the saved average (an error when the
   * checkpoint has none).
   */
  weights?: 'raw' | 'average';
  /** Receives the saved average (tensors disposed after the call); an error when the checkpoint has none. */
  onAverage?: (tensors: readonly tf.Tensor[]) => void;
}

const CKPT = /^ckpt-(\d{8})$/;
const TMP_PREFIX = '.tmp-';

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Packs named tensors into one little-endian buffer with an index. */
async function pack(
  tensors: readonly { name: string; tensor: tf.Tensor }[],
): Promise<{ index: TensorEntry[]; bytes: Uint8Array }> {
  const parts: Uint8Array[] = [];
  const index: TensorEntry[] = [];
  let offset = 0;
  for (const { name, tensor } of tensors) {
    let bytes: Uint8Array;
    let dtype: TensorEntry['dtype'];
    if (tensor.dtype === 'float32') {
      const data = (await tensor.data()) as Float32Array;
      bytes = new Uint8Array(data.length * 4);
      const view = new DataView(bytes.buffer);
      data.forEach((v, i) => view.setFloat32(i * 4, v, true));
      dtype = 'float32';
    } else if (tensor.dtype === 'int32' || tensor.dtype === 'bool') {
      const data = (await tensor.data()) as Int32Array | Uint8Array;
      bytes = new Uint8Array(data.length * 4);
      const view = new DataView(bytes.buffer);
      data.forEach((v, i) => view.setInt32(i * 4, v, true));
      dtype = 'int32';
    } else {
      throw new Error(`checkpoint: tensor ${name} has unsupported dtype ${tensor.dtype}`);
    }
    index.push({ name, shape: tensor.shape.slice(), dtype, offset, byteLength: bytes.length });
    parts.push(bytes);
    offset += bytes.length;
  }
  const bytes = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { index, bytes };
}

function unpack(entry: TensorEntry, bytes: Uint8Array): tf.Tensor {
  const size = entry.shape.reduce((a, b) => a * b, 1);
  if (entry.byteLength !== size * 4 || entry.offset + entry.byteLength > bytes.length) {
    throw new Error(`checkpoint: tensor ${entry.name} does not fit its file`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + entry.offset, entry.byteLength);
  if (entry.dtype === 'float32') {
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = view.getFloat32(i * 4, true);
    return tf.tensor(data, entry.shape, 'float32');
  }
  const data = new Int32Array(size);
  for (let i = 0; i < size; i++) data[i] = view.getInt32(i * 4, true);
  return tf.tensor(data, entry.shape, 'int32');
}

async function writeDurable(file: string, data: Uint8Array | string): Promise<void> {
  await writeFile(file, data, { flush: true });
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle.close();
  }
}

/** Replaces `file` atomically with `data` (temp file in the same directory, flushed, renamed). */
async function replaceAtomic(file: string, data: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `${TMP_PREFIX}${path.basename(file)}-${process.pid}`);
  await writeDurable(tmp, data);
  await rename(tmp, file);
}

function dirName(sequence: number): string {
  return `ckpt-${String(sequence).padStart(8, '0')}`;
}

/** A directory of checkpoints for one training run. */
export class CheckpointStore {
  readonly keep: number;

  constructor(
    readonly dir: string,
    options: CheckpointStoreOptions = {},
  ) {
    this.keep = Math.max(1, options.keep ?? 3);
  }

  /** Complete-looking checkpoints (by directory name), oldest first. */
  private async sequences(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .map((n) => CKPT.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  private async removeTemporaries(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    await Promise.all(
      names
        .filter((n) => n.startsWith(TMP_PREFIX))
        .map((n) => rm(path.join(this.dir, n), { recursive: true, force: true })),
    );
  }

  private async readPointer(file: 'latest.json' | 'best.json'): Promise<number | null> {
    try {
      const p = JSON.parse(await readFile(path.join(this.dir, file), 'utf8')) as { sequence?: unknown };
      return typeof p.sequence === 'number' ? p.sequence : null;
    } catch {
      return null;
    }
  }

  /**
   * Saves a checkpoint of `model` (all weights), `optimizer` (its state, when given and it has any) and
   * `state`. Returns when the checkpoint is complete on disk and `latest.json` points to it.
   */
  async save(
    model: tf.LayersModel,
    state: TrainingState,
    optimizer?: tf.Optimizer,
    options: SaveOptions = {},
  ): Promise<CheckpointInfo> {
    await mkdir(this.dir, { recursive: true });
    await this.removeTemporaries();
    const existing = await this.sequences();
    const sequence = (existing[existing.length - 1] ?? 0) + 1;
    const values = model.getWeights(); // the variables themselves, model.weights order; not copies
    const weights = await pack(
      model.weights.map((w, i) => ({ name: w.originalName, tensor: values[i] as tf.Tensor })),
    );
    let optimizerPart: Manifest['optimizer'] = null;
    let optimizerBytes: Uint8Array = new Uint8Array(0);
    if (optimizer !== undefined) {
      const named = await optimizer.getWeights();
      const packed = await pack(named.map((n) => ({ name: n.name, tensor: n.tensor })));
      optimizerBytes = packed.bytes;
      optimizerPart = {
        className: optimizer.getClassName(),
        config: optimizer.getConfig(),
        tensors: packed.index,
      };
    }
    let average: Awaited<ReturnType<typeof pack>> | undefined;
    if (options.average !== undefined) {
      if (options.average.length !== model.weights.length)
        throw new Error(
          `checkpoint: an average of ${options.average.length} tensors for ${model.weights.length} weights`,
        );
      average = await pack(
        model.weights.map((w, i) => ({ name: w.originalName, tensor: options.average![i] as tf.Tensor })),
      );
    }
    const manifest: Manifest = {
      format: 'drivesense.checkpoint',
      version: 1,
      sequence,
      state: structuredClone(state),
      weights: weights.index,
      optimizer: optimizerPart,
      ...(average !== undefined ? { average: average.index } : {}),
      sha256: {
        'weights.bin': sha256(weights.bytes),
        'optimizer.bin': sha256(optimizerBytes),
        ...(average !== undefined ? { 'average.bin': sha256(average.bytes) } : {}),
      },
    };
    const tmp = path.join(this.dir, `${TMP_PREFIX}${dirName(sequence)}-${process.pid}`);
    await mkdir(tmp, { recursive: true });
    await writeDurable(path.join(tmp, 'weights.bin'), weights.bytes);
    await writeDurable(path.join(tmp, 'optimizer.bin'), optimizerBytes);
    if (average !== undefined) await writeDurable(path.join(tmp, 'average.bin'), average.bytes);
    await writeDurable(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    await fsyncDir(tmp);
    const final = path.join(this.dir, dirName(sequence));
    await rename(tmp, final);
    await fsyncDir(this.dir);
    const pointer = `${JSON.stringify({ sequence, dir: dirName(sequence) })}\n`;
    await replaceAtomic(path.join(this.dir, 'latest.json'), pointer);
    if (options.best === true) await replaceAtomic(path.join(this.dir, 'best.json'), pointer);
    await this.prune();
    return { sequence, path: final, state: manifest.state };
  }

  /** Removes old checkpoints beyond `keep`, never the best one. */
  private async prune(): Promise<void> {
    const all = await this.sequences();
    const best = await this.readPointer('best.json');
    const latest = all.slice(-this.keep);
    for (const s of all) {
      if (latest.includes(s) || s === best) continue;
      await rm(path.join(this.dir, dirName(s)), { recursive: true, force: true });
    }
  }

  /** Reads and verifies one checkpoint; throws if it is incomplete or corrupt. */
  private async read(
    sequence: number,
  ): Promise<{ manifest: Manifest; weights: Uint8Array; optimizer: Uint8Array; average?: Uint8Array }> {
    const dir = path.join(this.dir, dirName(sequence));
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    if (manifest.format !== 'drivesense.checkpoint' || manifest.version !== 1) {
      throw new Error(`${dir}: not a drivesense checkpoint (v1)`);
    }
    const weights = new Uint8Array(await readFile(path.join(dir, 'weights.bin')));
    const optimizer = new Uint8Array(await readFile(path.join(dir, 'optimizer.bin')));
    if (
      sha256(weights) !== manifest.sha256['weights.bin'] ||
      sha256(optimizer) !== manifest.sha256['optimizer.bin']
    ) {
      throw new Error(`${dir}: checksum mismatch`);
    }
    if (manifest.average === undefined) return { manifest, weights, optimizer };
    const average = new Uint8Array(await readFile(path.join(dir, 'average.bin')));
    if (sha256(average) !== manifest.sha256['average.bin']) throw new Error(`${dir}: checksum mismatch`);
    return { manifest, weights, optimizer, average };
  }

  /** Candidate sequences, newest first, the pointer's target first when it exists. */
  private async candidates(pointer: 'latest.json' | 'best.json'): Promise<number[]> {
    const all = (await this.sequences()).reverse();
    const p = await this.readPointer(pointer);
    if (pointer === 'best.json') return p !== null && all.includes(p) ? [p] : [];
    // Newest complete one wins even if the pointer lags (crash between rename and pointer update).
    return all;
  }

  /**
   * Restores the newest complete checkpoint into `model` (and `optimizer`, when given and saved) and returns
   * its state, or null when there is none (a fresh run). Corrupt or partial checkpoints are skipped.
   * Pass a fresh optimizer (before its first step): TF.js's setWeights replaces accumulators without
   * disposing the old ones, and its state is matched to the trainable weights by position.
   */
  async loadLatest(
    model: tf.LayersModel,
    optimizer?: tf.Optimizer,
    options: LoadOptions = {},
  ): Promise<CheckpointInfo | null> {
    return this.loadFirst(await this.candidates('latest.json'), model, optimizer, options);
  }

  /** Restores the checkpoint saved with `best: true` (e.g. after early stopping); null if none. */
  async loadBest(
    model: tf.LayersModel,
    optimizer?: tf.Optimizer,
    options: LoadOptions = {},
  ): Promise<CheckpointInfo | null> {
    return this.loadFirst(await this.candidates('best.json'), model, optimizer, options);
  }

  /** The checkpoints on disk (complete-looking ones), oldest first, without loading tensors. */
  async list(): Promise<CheckpointInfo[]> {
    const out: CheckpointInfo[] = [];
    for (const s of await this.sequences()) {
      try {
        const dir = path.join(this.dir, dirName(s));
        const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
        out.push({ sequence: s, path: dir, state: manifest.state });
      } catch {
        // incomplete: not listed
      }
    }
    return out;
  }

  private async loadFirst(
    sequences: readonly number[],
    model: tf.LayersModel,
    optimizer: tf.Optimizer | undefined,
    options: LoadOptions,
  ): Promise<CheckpointInfo | null> {
    await this.removeTemporaries();
    const errors: string[] = [];
    for (const s of sequences) {
      let read: Awaited<ReturnType<CheckpointStore['read']>>;
      try {
        read = await this.read(s);
      } catch (err) {
        errors.push((err as Error).message);
        continue;
      }
      await restore(read, model, optimizer, options);
      return { sequence: s, path: path.join(this.dir, dirName(s)), state: read.manifest.state };
    }
    if (errors.length > 0 && sequences.length > 0) {
      throw new Error(`no usable checkpoint in ${this.dir}: ${errors.join('; ')}`);
    }
    return null;
  }
}

async function restore(
  read: { manifest: Manifest; weights: Uint8Array; optimizer: Uint8Array; average?: Uint8Array },
  model: tf.LayersModel,
  optimizer: tf.Optimizer | undefined,
  options: LoadOptions,
): Promise<void> {
  const { manifest, optimizer: optimizerBytes } = read;
  const useAverage = options.weights === 'average';
  if (
    (useAverage || options.onAverage !== undefined) &&
    (manifest.average === undefined || read.average === undefined)
  )
    throw new Error(`checkpoint ${manifest.sequence} has no average of the weights`);
  const weightBytes = useAverage ? read.average! : read.weights;
  const weightIndex = useAverage ? manifest.average! : manifest.weights;
  const modelWeights = model.weights;
  if (modelWeights.length !== weightIndex.length) {
    throw new Error(
      `checkpoint has ${weightIndex.length} weight tensors, the model ${modelWeights.length}: not the same architecture`,
    );
  }
  weightIndex.forEach((entry, i) => {
    const w = modelWeights[i];
    if (
      w === undefined ||
      w.shape.length !== entry.shape.length ||
      w.shape.some((d, k) => d !== entry.shape[k])
    ) {
      throw new Error(
        `checkpoint weight ${i} (${entry.name}) has shape [${entry.shape}], the model [${w?.shape}]`,
      );
    }
  });
  const tensors = weightIndex.map((entry) => unpack(entry, weightBytes));
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
  if (options.onAverage !== undefined) {
    const average = manifest.average!.map((entry) => unpack(entry, read.average!));
    try {
      options.onAverage(average);
    } finally {
      tf.dispose(average);
    }
  }
  if (optimizer !== undefined && manifest.optimizer !== null) {
    if (optimizer.getClassName() !== manifest.optimizer.className) {
      throw new Error(
        `checkpoint optimizer is ${manifest.optimizer.className}, not ${optimizer.getClassName()}`,
      );
    }
    const named = manifest.optimizer.tensors.map((entry) => ({
      name: entry.name,
      tensor: unpack(entry, optimizerBytes),
    }));
    try {
      if (named.length > 0) await optimizer.setWeights(named);
    } finally {
      tf.dispose(named.map((n) => n.tensor));
    }
  }
}
