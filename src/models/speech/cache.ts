/**
 * On-disk cache of decoded corpus material (16 kHz audio, per-video-frame mouth crops), so that repeated
 * training and evaluation runs skip ffmpeg, resampling and face landmarks.
 *
 * Layout: `<dir>/<kind>-<key>.json` (metadata) next to `<dir>/<kind>-<key>.f32` (little-endian float32
 * payload). The key is sha256 over the source file's own sha256 and a description of the processing
 * (`CACHE_VERSION`, target rate, ROI options, …): a changed file or changed processing misses the cache, a
 * renamed or moved file still hits it. Writes go to a temporary name and are renamed into place, so an
 * interrupted run never leaves a half-written entry; a damaged entry (length or JSON mismatch) is treated as
 * a miss and rewritten. The default directory is `out/speech-cache/` under the working directory (`out/` is
 * gitignored: the cache holds noisex92 and engine_unclear_license material, which must never be committed).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Bump when any cached computation changes meaning. */
export const CACHE_VERSION = 1;

export const DEFAULT_CACHE_DIR = 'out/speech-cache';

export interface CacheEntry<M> {
  readonly meta: M;
  readonly data: Float32Array;
}

/** Cache key: sha256 of the file hash and the processing description (canonical JSON). */
export function cacheKey(fileSha256: string, processing: object): string {
  return createHash('sha256')
    .update(`${CACHE_VERSION}\n${fileSha256}\n${JSON.stringify(processing)}`)
    .digest('hex')
    .slice(0, 32);
}

export class FeatureCache {
  readonly dir: string;
  hits = 0;
  misses = 0;

  /** `dir` undefined: `out/speech-cache` under the working directory; null: no caching. */
  constructor(dir: string | null | undefined = undefined) {
    this.dir = dir === null ? '' : resolve(dir ?? DEFAULT_CACHE_DIR);
  }

  get enabled(): boolean {
    return this.dir !== '';
  }

  private paths(kind: string, key: string): { meta: string; data: string } {
    const base = join(this.dir, `${kind}-${key}`);
    return { meta: `${base}.json`, data: `${base}.f32` };
  }

  async get<M extends { readonly length: number }>(
    kind: string,
    key: string,
  ): Promise<CacheEntry<M> | undefined> {
    if (!this.enabled) return undefined;
    const p = this.paths(kind, key);
    try {
      const meta = JSON.parse(await readFile(p.meta, 'utf8')) as M;
      const bytes = await readFile(p.data);
      if (bytes.length !== meta.length * 4) throw new Error('length mismatch');
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      this.hits++;
      return { meta, data: new Float32Array(copy.buffer) };
    } catch {
      this.misses++;
      return undefined;
    }
  }

  async put<M extends { readonly length: number }>(
    kind: string,
    key: string,
    meta: M,
    data: Float32Array,
  ): Promise<void> {
    if (!this.enabled) return;
    if (meta.length !== data.length)
      throw new Error(`cache: meta.length ${meta.length} ≠ ${data.length} values`);
    await mkdir(this.dir, { recursive: true });
    const p = this.paths(kind, key);
    const tmp = `.tmp-${process.pid}-${Date.now()}`;
    await writeFile(p.data + tmp, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    await writeFile(p.meta + tmp, JSON.stringify(meta));
    await rename(p.data + tmp, p.data);
    await rename(p.meta + tmp, p.meta);
  }

  /** The cached value, or computes, stores and returns it. */
  async getOrCompute<M extends { readonly length: number }>(
    kind: string,
    key: string,
    compute: () => Promise<CacheEntry<M>>,
  ): Promise<CacheEntry<M>> {
    const hit = await this.get<M>(kind, key);
    if (hit !== undefined) return hit;
    const made = await compute();
    await this.put(kind, key, made.meta, made.data);
    return made;
  }
}
