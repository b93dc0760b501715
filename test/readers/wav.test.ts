import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeWav, encodeWav, readWavFile, writeWavFile } from '../../src/streams/readers/wav.ts';
import { SHARED_SKIP, fixture, shared } from './shared-data.ts';

const tmp = mkdtempSync(join(tmpdir(), 'wav-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Builds RIFF bytes by hand (independent of encodeWav). */
function riff(chunks: [string, Uint8Array][], form = 'WAVE', magic = 'RIFF'): Uint8Array {
  const parts: number[] = [...Buffer.from(form, 'latin1')];
  for (const [id, body] of chunks) {
    const size = body.length;
    parts.push(
      ...Buffer.from(id, 'latin1'),
      size & 0xff,
      (size >> 8) & 0xff,
      (size >> 16) & 0xff,
      size >>> 24,
      ...body,
    );
    if (size & 1) parts.push(0);
  }
  const n = parts.length;
  return Uint8Array.from([
    ...Buffer.from(magic, 'latin1'),
    n & 0xff,
    (n >> 8) & 0xff,
    (n >> 16) & 0xff,
    n >>> 24,
    ...parts,
  ]);
}

function fmtBody(
  tag: number,
  channels: number,
  rate: number,
  bits: number,
  extra: number[] = [],
): Uint8Array {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE((rate * channels * bits) / 8, 8);
  b.writeUInt16LE((channels * bits) / 8, 12);
  b.writeUInt16LE(bits, 14);
  return Uint8Array.from([...b, ...extra]);
}

const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
function extensible(
  sub: number,
  channels: number,
  rate: number,
  bits: number,
  guidTail = GUID_TAIL,
): Uint8Array {
  return fmtBody(0xfffe, channels, rate, bits, [
    22,
    0,
    bits & 0xff,
    0,
    3,
    0,
    0,
    0,
    sub & 0xff,
    sub >> 8,
    ...guidTail,
  ]);
}

function assertWavError(fn: () => unknown, what: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof Error && /^WAV: /.test(e.message) && what.test(e.message));
}

describe('WAV reader', () => {
  test('real 16-bit PCM (CMU ARCTIC fixture): values = int16 / 32768', async () => {
    const bytes = readFileSync(fixture('arctic-aew-a0001-head.wav'));
    const wav = await readWavFile(fixture('arctic-aew-a0001-head.wav'));
    assert.deepEqual(
      [wav.sampleRateHz, wav.channels, wav.frames, wav.encoding, wav.bitsPerSample],
      [16000, 1, 8000, 'pcm', 16],
    );
    for (let i = 0; i < wav.frames; i += 97)
      assert.equal(wav.samples[i], Math.fround(bytes.readInt16LE(44 + 2 * i) / 32768));
    assert.ok(Math.max(...wav.samples.map(Math.abs)) > 0.01, 'not silence');
  });

  test('real 32-bit float with an 18-byte fmt chunk and a fact chunk (Lombard GRID fixture)', () => {
    const bytes = readFileSync(fixture('lombard-s30-lbwzzp-head.wav'));
    const wav = decodeWav(bytes);
    assert.deepEqual(
      [wav.sampleRateHz, wav.channels, wav.frames, wav.encoding, wav.bitsPerSample],
      [16000, 1, 8000, 'float', 32],
    );
    const dataAt = bytes.indexOf(Buffer.from('data')) + 8;
    assert.equal(dataAt, 58); // RIFF(12) + fmt(8+18) + fact(8+4) + data header(8)
    for (let i = 0; i < wav.frames; i += 101) assert.equal(wav.samples[i], bytes.readFloatLE(dataAt + 4 * i));
  });

  test('24-bit stereo after an odd-sized LIST chunk (pad byte), interleaved, full-scale values', () => {
    const data = Uint8Array.from([0xff, 0xff, 0x7f, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff]);
    const bytes = riff([
      ['LIST', Uint8Array.from([...Buffer.from('INFOISFT'), 3, 0, 0, 0, 0x61, 0x62, 0x63])], // 15 bytes → padded
      ['fmt ', fmtBody(1, 2, 44100, 24)],
      ['data', data],
    ]);
    const wav = decodeWav(bytes);
    assert.deepEqual([wav.channels, wav.sampleRateHz, wav.frames], [2, 44100, 2]);
    assert.deepEqual([...wav.samples], [8388607 / 8388608, -1, 1 / 8388608, -1 / 8388608].map(Math.fround));
  });

  test('8-bit unsigned, 32-bit int, 64-bit float, extensible PCM and float', () => {
    assert.deepEqual(
      [
        ...decodeWav(
          riff([
            ['fmt ', fmtBody(1, 1, 8000, 8)],
            ['data', Uint8Array.of(0, 128, 255)],
          ]),
        ).samples,
      ],
      [-1, 0, 127 / 128].map(Math.fround),
    );
    const i32 = Buffer.alloc(8);
    i32.writeInt32LE(-(2 ** 31), 0);
    i32.writeInt32LE(2 ** 30, 4);
    assert.deepEqual(
      [
        ...decodeWav(
          riff([
            ['fmt ', fmtBody(1, 1, 8000, 32)],
            ['data', i32],
          ]),
        ).samples,
      ],
      [-1, 0.5],
    );
    const f64 = Buffer.alloc(16);
    f64.writeDoubleLE(0.25, 0);
    f64.writeDoubleLE(-1.5, 8); // float files may exceed ±1: returned as stored
    assert.deepEqual(
      [
        ...decodeWav(
          riff([
            ['fmt ', fmtBody(3, 1, 8000, 64)],
            ['data', f64],
          ]),
        ).samples,
      ],
      [0.25, -1.5],
    );
    const ext = decodeWav(
      riff([
        ['fmt ', extensible(1, 1, 48000, 16)],
        ['data', Uint8Array.of(0x00, 0x40)],
      ]),
    );
    assert.deepEqual([ext.encoding, ext.sampleRateHz, ...ext.samples], ['pcm', 48000, 0.5]);
    const f32 = Buffer.alloc(4);
    f32.writeFloatLE(-0.75, 0);
    assert.deepEqual(
      [
        ...decodeWav(
          riff([
            ['fmt ', extensible(3, 1, 16000, 32)],
            ['data', f32],
          ]),
        ).samples,
      ],
      [-0.75],
    );
  });

  test('a data size larger than the file (never patched) reads to the end, whole frames only', () => {
    const good = riff([
      ['fmt ', fmtBody(1, 2, 8000, 16)],
      ['data', Uint8Array.of(1, 0, 2, 0, 3, 0, 4, 0, 5)],
    ]);
    const bytes = Uint8Array.from(good.subarray(0, good.length - 1)); // drop the pad byte
    new DataView(bytes.buffer).setUint32(40, 0xffffffff, true);
    const wav = decodeWav(bytes);
    assert.equal(wav.frames, 2);
    assert.deepEqual([...wav.samples], [1, 2, 3, 4].map((v) => v / 32768).map(Math.fround));
  });

  test('unsupported or broken files are clear errors', () => {
    const fmt16 = fmtBody(1, 1, 8000, 16);
    assertWavError(() => decodeWav(new Uint8Array(4)), /too short/);
    assertWavError(() => decodeWav(riff([], 'WAVE', 'RIFX')), /big-endian/);
    assertWavError(() => decodeWav(riff([], 'WAVE', 'RF64')), /RF64/);
    assertWavError(() => decodeWav(riff([], 'WAVE', 'FORM')), /not a RIFF/);
    assertWavError(() => decodeWav(riff([], 'AVI ')), /not WAVE/);
    assertWavError(() => decodeWav(riff([['data', new Uint8Array(2)]])), /before the fmt/);
    assertWavError(() => decodeWav(riff([['fmt ', fmt16]])), /no data chunk/);
    assertWavError(() => decodeWav(riff([['LIST', new Uint8Array(4)]])), /no fmt chunk/);
    assertWavError(
      () =>
        decodeWav(
          riff([
            ['fmt ', fmt16.subarray(0, 14)],
            ['data', new Uint8Array(2)],
          ]),
        ),
      /too short/,
    );
    assertWavError(
      () =>
        decodeWav(
          riff([
            ['fmt ', fmtBody(0x55, 1, 8000, 16)],
            ['data', new Uint8Array(2)],
          ]),
        ),
      /format code 0x55/,
    );
    assertWavError(
      () =>
        decodeWav(
          riff([
            ['fmt ', fmtBody(2, 1, 8000, 4)],
            ['data', new Uint8Array(2)],
          ]),
        ),
      /format code 0x2/,
    );
    assertWavError(
      () =>
        decodeWav(
          riff([
            ['fmt ', fmtBody(1, 1, 8000, 12)],
            ['data', new Uint8Array(2)],
          ]),
        ),
      /12 bits/,
    );
    assertWavError(
      () =>
        decodeWav(
          riff([
            ['fmt ', fmtBody(3, 1, 8000, 16)],
            ['data', new Uint8Array(2)],
          ]),
        ),
      /float with 16/,
    );
    assertWavError(
      () =>
        decodeWav(
          riff([
            ['fmt ', fmtBody(1, 0, 8000, 16)],
            ['data', new Uint8Array(2)],
          ]),
        ),
      /channel count 0/,
    );
    assertWavError(
      () =>
        decodeWav(
          riff([
            ['fmt ', fmtBody(1, 1, 0, 16)],
            ['data', new Uint8Array(2)],
          ]),
        ),
      /sample rate/,
    );
    const badAlign = fmtBody(1, 2, 8000, 16);
    badAlign[12] = 3;
    assertWavError(
      () =>
        decodeWav(
          riff([
            ['fmt ', badAlign],
            ['data', new Uint8Array(4)],
          ]),
        ),
      /block align/,
    );
    const guid = [...GUID_TAIL];
    guid[13] = 0;
    assertWavError(
      () =>
        decodeWav(
          riff([
            ['fmt ', extensible(1, 1, 8000, 16, guid)],
            ['data', new Uint8Array(2)],
          ]),
        ),
      /GUID/,
    );
    const truncated = riff([['fmt ', fmt16]]).subarray(0, 30);
    assertWavError(() => decodeWav(truncated), /fmt chunk is truncated/);
  });

  test('fuzz: random bytes and corrupted real files decode consistently or give a WAV error', () => {
    const real = readFileSync(fixture('lombard-s30-lbwzzp-head.wav')).subarray(0, 400);
    const check = (bytes: Uint8Array): void => {
      try {
        const w = decodeWav(bytes);
        assert.equal(w.samples.length, w.frames * w.channels);
        assert.ok(w.frames * w.channels * (w.bitsPerSample / 8) <= bytes.length);
      } catch (e) {
        assert.ok(e instanceof Error);
        assert.match(e.message, /^WAV: /);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), check), { numRuns: 2000 });
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ at: fc.integer({ min: 0, max: 399 }), value: fc.integer({ min: 0, max: 255 }) }),
          { maxLength: 6 },
        ),
        fc.integer({ min: 0, max: 400 }),
        (edits, cut) => {
          const b = Uint8Array.from(real.subarray(0, cut));
          for (const { at, value } of edits) if (at < b.length) b[at] = value;
          check(b);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('WAV writer', () => {
  test('16-bit PCM: canonical 44-byte header, exact round trip of int16 values, clipping, NaN → 0', () => {
    const values = [0, 1 / 32768, -1, 32767 / 32768, 1.5, -2, NaN, 0.5];
    const bytes = encodeWav({ sampleRateHz: 16000, channels: 2, samples: values });
    const b = Buffer.from(bytes);
    assert.equal(b.length, 44 + 16);
    assert.deepEqual(
      [
        b.toString('latin1', 0, 4),
        b.readUInt32LE(4),
        b.toString('latin1', 8, 16),
        b.readUInt32LE(16),
        b.readUInt16LE(20),
      ],
      ['RIFF', 52, 'WAVEfmt ', 16, 1],
    );
    assert.deepEqual(
      [b.readUInt16LE(22), b.readUInt32LE(24), b.readUInt32LE(28), b.readUInt16LE(32), b.readUInt16LE(34)],
      [2, 16000, 64000, 4, 16],
    );
    assert.deepEqual([b.toString('latin1', 36, 40), b.readUInt32LE(40)], ['data', 16]);
    assert.deepEqual(
      [...Array(8).keys()].map((i) => b.readInt16LE(44 + 2 * i)),
      [0, 1, -32768, 32767, 32767, -32768, 0, 16384],
    );
    const back = decodeWav(bytes);
    assert.deepEqual([back.channels, back.frames], [2, 4]);
  });

  test('float32: fmt 18 + fact, round trip of any float32 (NaN and ±Infinity kept)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.float(), { maxLength: 60 }),
        (channels, raw) => {
          const samples = Float32Array.from(raw.slice(0, raw.length - (raw.length % channels)));
          const bytes = encodeWav({ sampleRateHz: 48000, channels, samples }, 'float32');
          const b = Buffer.from(bytes);
          assert.deepEqual(
            [b.readUInt32LE(16), b.readUInt16LE(20), b.toString('latin1', 38, 42), b.readUInt32LE(46)],
            [18, 3, 'fact', samples.length / channels],
          );
          const back = decodeWav(bytes);
          assert.deepEqual(back.samples, samples);
          assert.equal(back.encoding, 'float');
        },
      ),
    );
  });

  test('pcm16 round trip: decode(encode(x)) = x for every int16/32768 value (property)', () => {
    fc.assert(
      fc.property(fc.int16Array({ maxLength: 200 }), (ints) => {
        const x = Float32Array.from(ints, (v) => v / 32768);
        assert.deepEqual(decodeWav(encodeWav({ sampleRateHz: 8000, channels: 1, samples: x })).samples, x);
      }),
    );
  });

  test('writeWavFile → readWavFile; bad inputs are WAV errors', async () => {
    const path = join(tmp, 'a.wav');
    await writeWavFile(path, { sampleRateHz: 22050, channels: 1, samples: [0.25, -0.25] });
    const w = await readWavFile(path);
    assert.deepEqual([w.sampleRateHz, ...w.samples], [22050, 0.25, -0.25]);
    assertWavError(() => encodeWav({ sampleRateHz: 8000, channels: 2, samples: [1, 2, 3] }), /multiple of 2/);
    assertWavError(() => encodeWav({ sampleRateHz: 8000.5, channels: 1, samples: [] }), /sample rate/);
    assertWavError(() => encodeWav({ sampleRateHz: 8000, channels: 0, samples: [] }), /channel count/);
    await assert.rejects(readWavFile(fixture('drive05-2s.hea')), (e: Error) =>
      /^WAV: not a RIFF file \(/.test(e.message),
    );
  });
});

describe('WAV on the real recordings in ../shared', () => {
  test(
    'every speech and noise WAV decodes with the expected rate and length',
    { skip: SHARED_SKIP },
    async () => {
      const expected: Record<string, [number, number]> = {
        'audio/noise/noisex92/volvo_19980Hz_58s.wav': [19980, 58.53], // has a LIST chunk before data
        'audio/noise/noisex92/babble_22050Hz_20s.wav': [22050, 20],
        'audio/noise/speech_commands_bg/doing_the_dishes.wav': [16000, 95.18],
      };
      for (const [path, [rate, seconds]] of Object.entries(expected)) {
        const w = await readWavFile(shared(path));
        assert.equal(w.sampleRateHz, rate, path);
        assert.ok(Math.abs(w.frames / rate - seconds) < 0.02, `${path}: ${w.frames / rate} s`);
      }
      for (const dir of ['audio/speech/cmu_arctic', 'audio/speech/lombard_grid']) {
        for (const name of readdirSync(shared(dir)).filter((n) => n.endsWith('.wav'))) {
          const w = await readWavFile(shared(`${dir}/${name}`));
          assert.deepEqual([w.sampleRateHz, w.channels], [16000, 1], name);
          assert.ok(w.frames > 16000 * 0.5, name);
          const peak = w.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          assert.ok(peak > 0.02 && peak <= 1, `${name}: peak ${peak}`);
        }
      }
    },
  );
});
