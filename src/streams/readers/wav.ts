/**
 * RIFF/WAVE reader and writer.
 *
 * Reads PCM integer (8-bit unsigned, 16/24/32-bit signed) and IEEE float (32/64-bit) samples, plain
 * (`WAVE_FORMAT_PCM`, `WAVE_FORMAT_IEEE_FLOAT`) or `WAVE_FORMAT_EXTENSIBLE`, any rate and channel count,
 * skipping chunks it does not need (LIST, fact, cue, bext, …, with RIFF's pad byte after odd-sized chunks).
 * Integer samples are scaled by 2^(bits−1) into [−1, 1); float samples are returned as stored (a float file
 * may hold values beyond ±1 or non-finite values; callers that need [−1, 1] clip and count them).
 * A data chunk that claims more bytes than the file holds (a writer that never patched the size) is read to
 * the end of the file, whole frames only.
 *
 * Writes 16-bit PCM (rounded, clipped to [−1, 1], NaN → 0) or 32-bit float.
 * Errors are `Error`s whose message starts with "WAV".
 */
import { readFile, writeFile } from 'node:fs/promises';

export interface WavAudio {
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Interleaved samples, `frames × channels` of them. */
  readonly samples: Float32Array;
  readonly frames: number;
  /** How the file stored the samples. */
  readonly encoding: 'pcm' | 'float';
  readonly bitsPerSample: number;
}

export type WavWriteFormat = 'pcm16' | 'float32';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
/** The 14 bytes that follow the format code in a KSDATAFORMAT_SUBTYPE_* GUID. */
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
const MAX_CHANNELS = 256;

function wavError(msg: string): Error {
  return new Error(`WAV: ${msg}`);
}

function fourcc(b: Uint8Array, p: number): string {
  return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
}

interface Fmt {
  readonly encoding: 'pcm' | 'float';
  readonly channels: number;
  readonly sampleRateHz: number;
  readonly blockAlign: number;
  readonly bitsPerSample: number;
}

function parseFmt(view: DataView, p: number, size: number): Fmt {
  if (size < 16) throw wavError(`fmt chunk of ${size} bytes is too short (needs 16)`);
  let tag = view.getUint16(p, true);
  const channels = view.getUint16(p + 2, true);
  const sampleRateHz = view.getUint32(p + 4, true);
  const blockAlign = view.getUint16(p + 12, true);
  const bitsPerSample = view.getUint16(p + 14, true);
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40)
      throw wavError(`WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes is too short (needs 40)`);
    const sub = view.getUint16(p + 24, true);
    for (let i = 0; i < GUID_TAIL.length; i++) {
      if (view.getUint8(p + 26 + i) !== GUID_TAIL[i])
        throw wavError('WAVE_FORMAT_EXTENSIBLE with an unknown sub-format GUID');
    }
    tag = sub;
  }
  let encoding: 'pcm' | 'float';
  if (tag === FORMAT_PCM) {
    if (![8, 16, 24, 32].includes(bitsPerSample))
      throw wavError(`PCM with ${bitsPerSample} bits per sample is not supported`);
    encoding = 'pcm';
  } else if (tag === FORMAT_FLOAT) {
    if (bitsPerSample !== 32 && bitsPerSample !== 64)
      throw wavError(`float with ${bitsPerSample} bits per sample is not supported`);
    encoding = 'float';
  } else {
    throw wavError(`format code 0x${tag.toString(16)} is not supported (PCM 1, float 3 or extensible only)`);
  }
  if (channels < 1 || channels > MAX_CHANNELS)
    throw wavError(`channel count ${channels} is out of range 1..${MAX_CHANNELS}`);
  if (sampleRateHz < 1) throw wavError('sample rate is 0');
  if (blockAlign !== channels * (bitsPerSample / 8)) {
    throw wavError(`block align ${blockAlign} ≠ ${channels} channels × ${bitsPerSample / 8} bytes`);
  }
  return { encoding, channels, sampleRateHz, blockAlign, bitsPerSample };
}

/** Decodes a WAV file held in memory. */
export function decodeWav(bytes: Uint8Array): WavAudio {
  const n = bytes.byteLength;
  if (n < 12) throw wavError(`file of ${n} bytes is too short for a RIFF header`);
  const riff = fourcc(bytes, 0);
  if (riff === 'RIFX') throw wavError('big-endian RIFX files are not supported');
  if (riff === 'RF64') throw wavError('RF64 files are not supported');
  if (riff !== 'RIFF') throw wavError('not a RIFF file');
  if (fourcc(bytes, 8) !== 'WAVE') throw wavError(`RIFF form "${fourcc(bytes, 8)}" is not WAVE`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  let fmt: Fmt | undefined;
  let p = 12;
  while (p + 8 <= n) {
    const id = fourcc(bytes, p);
    const size = view.getUint32(p + 4, true);
    const body = p + 8;
    if (id === 'fmt ') {
      if (body + size > n) throw wavError('fmt chunk is truncated');
      fmt = parseFmt(view, body, size);
    } else if (id === 'data') {
      if (fmt === undefined) throw wavError('data chunk before the fmt chunk');
      const available = Math.min(size, n - body);
      return decodeData(bytes, view, body, available, fmt);
    }
    p = body + size + (size & 1);
  }
  throw wavError(fmt === undefined ? 'no fmt chunk' : 'no data chunk');
}

function decodeData(bytes: Uint8Array, view: DataView, start: number, size: number, fmt: Fmt): WavAudio {
  const frames = Math.floor(size / fmt.blockAlign);
  const count = frames * fmt.channels;
  const out = new Float32Array(count);
  const bps = fmt.bitsPerSample / 8;
  let p = start;
  if (fmt.encoding === 'float') {
    if (bps === 4) for (let i = 0; i < count; i++, p += 4) out[i] = view.getFloat32(p, true);
    else for (let i = 0; i < count; i++, p += 8) out[i] = view.getFloat64(p, true);
  } else if (bps === 1) {
    for (let i = 0; i < count; i++, p++) out[i] = (bytes[p]! - 128) / 128;
  } else if (bps === 2) {
    for (let i = 0; i < count; i++, p += 2) out[i] = view.getInt16(p, true) / 32768;
  } else if (bps === 3) {
    for (let i = 0; i < count; i++, p += 3) {
      const v = ((bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16)) << 8) >> 8;
      out[i] = v / 8388608;
    }
  } else {
    for (let i = 0; i < count; i++, p += 4) out[i] = view.getInt32(p, true) / 2147483648;
  }
  return {
    sampleRateHz: fmt.sampleRateHz,
    channels: fmt.channels,
    samples: out,
    frames,
    encoding: fmt.encoding,
    bitsPerSample: fmt.bitsPerSample,
  };
}

export interface WavInput {
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Interleaved; length must be a multiple of `channels`. */
  readonly samples: ArrayLike<number>;
}

/** Encodes audio as a canonical WAV: 16-bit PCM (fmt 16 bytes) or 32-bit float (fmt 18 bytes + fact). */
export function encodeWav(audio: WavInput, format: WavWriteFormat = 'pcm16'): Uint8Array {
  const { sampleRateHz, channels, samples } = audio;
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS)
    throw wavError(`bad channel count ${channels}`);
  if (!Number.isInteger(sampleRateHz) || sampleRateHz < 1 || sampleRateHz > 0xffffffff) {
    throw wavError(`bad sample rate ${sampleRateHz} (a positive integer)`);
  }
  if (samples.length % channels !== 0)
    throw wavError(`${samples.length} samples is not a multiple of ${channels} channels`);
  const float = format === 'float32';
  const bps = float ? 4 : 2;
  const dataBytes = samples.length * bps;
  const fmtSize = float ? 18 : 16;
  const factSize = float ? 12 : 0;
  const total = 12 + 8 + fmtSize + factSize + 8 + dataBytes + (dataBytes & 1);
  if (total - 8 > 0xffffffff) throw wavError('audio too long for a RIFF file');
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const put4 = (p: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[p + i] = s.charCodeAt(i);
  };
  put4(0, 'RIFF');
  v.setUint32(4, total - 8, true);
  put4(8, 'WAVE');
  put4(12, 'fmt ');
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, float ? FORMAT_FLOAT : FORMAT_PCM, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRateHz, true);
  v.setUint32(28, sampleRateHz * channels * bps, true);
  v.setUint16(32, channels * bps, true);
  v.setUint16(34, bps * 8, true);
  let p = 36;
  if (float) {
    v.setUint16(p, 0, true); // cbSize
    p += 2;
    put4(p, 'fact');
    v.setUint32(p + 4, 4, true);
    v.setUint32(p + 8, samples.length / channels, true);
    p += 12;
  }
  put4(p, 'data');
  v.setUint32(p + 4, dataBytes, true);
  p += 8;
  if (float) {
    for (let i = 0; i < samples.length; i++, p += 4) v.setFloat32(p, samples[i]!, true);
  } else {
    for (let i = 0; i < samples.length; i++, p += 2) {
      const x = samples[i]!;
      const s = Number.isNaN(x) ? 0 : Math.max(-32768, Math.min(32767, Math.round(x * 32768)));
      v.setInt16(p, s, true);
    }
  }
  return out;
}

export async function readWavFile(path: string): Promise<WavAudio> {
  try {
    return decodeWav(await readFile(path));
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('WAV:'))
      throw new Error(`${e.message} (${path})`, { cause: e });
    throw e;
  }
}

export async function writeWavFile(
  path: string,
  audio: WavInput,
  format: WavWriteFormat = 'pcm16',
): Promise<void> {
  await writeFile(path, encodeWav(audio, format));
}
