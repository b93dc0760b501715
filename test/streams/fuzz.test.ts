import assert from 'node:assert/strict';
import { it } from 'node:test';
import { encodeAudio } from '../../src/streams/contracts/audio.ts';
import { encodeCameraFrame } from '../../src/streams/contracts/camera.ts';
import { encodeCanBatch } from '../../src/streams/contracts/can.ts';
import { MAX_PAYLOAD_BYTES } from '../../src/streams/contracts/codec.ts';
import { HEADER_BYTES } from '../../src/streams/contracts/header.ts';
import { encodePhysio } from '../../src/streams/contracts/physio.ts';
import type { InputStream } from '../../src/streams/contracts/topics.ts';
import { topicFor } from '../../src/streams/contracts/topics.ts';
import { encodeWeather } from '../../src/streams/contracts/weather.ts';
import type { IngestEvent } from '../../src/streams/ingest.ts';
import { ingestOne } from '../../src/streams/ingest.ts';
import { SequenceTracker } from '../../src/streams/sequence-tracker.ts';
import { canFrame, prng, T0_US } from '../support/fixtures.ts';

/**
 * 100,000 fuzzed payloads per codec, through the same ingest step the pipeline uses: random bytes,
 * truncations, oversized payloads, bit flips, NaN in float fields and wrong versions. Nothing may throw,
 * and every payload must be accounted for as decoded or invalid (with a reason code).
 */
const PER_CODEC = 100_000;
const KINDS = ['random', 'truncated', 'oversized', 'mutated', 'nan', 'wrong-version'] as const;
type Kind = (typeof KINDS)[number];

function valid(stream: InputStream, rnd: () => number, seq: number): Uint8Array {
  const tUs = T0_US + seq * 20_000;
  switch (stream) {
    case 'ecg':
      return encodePhysio({
        sessionId: 7,
        seq,
        tUs,
        sampleFormat: rnd() < 0.5 ? 'int16' : 'float32',
        channels: [
          {
            kind: 'ecg',
            rateHz: 496,
            samples: Array.from({ length: 124 }, () => rnd() * 2 - 1),
            scale: 0.001,
          },
          { kind: 'eda', rateHz: 31, samples: [1, 2, 3, 4, 5, 6, 7, 8], scale: 0.01 },
        ],
      });
    case 'can':
      return encodeCanBatch({
        sessionId: 7,
        seq,
        frames: Array.from({ length: 1 + Math.floor(rnd() * 40) }, (_, i) =>
          canFrame(tUs + i * 400, 0xaa + i, [1, 2, 3, 4, 5, 6, 7, 8]),
        ),
      });
    case 'audio':
      return encodeAudio({
        sessionId: 7,
        seq,
        tUs,
        sampleFormat: rnd() < 0.5 ? 's16' : 'f32',
        sampleRateHz: 16000,
        channels: 1,
        samples: Array.from({ length: 320 }, () => rnd() * 2 - 1),
      });
    case 'camera':
      return encodeCameraFrame({
        sessionId: 7,
        seq,
        tUs,
        pixelFormat: 'gray8',
        width: 24,
        height: 16,
        data: new Uint8Array(384),
      });
    case 'weather':
      return encodeWeather({
        v: 1,
        session: 7,
        seq,
        tUs,
        current: { temperature_2m: rnd() * 30, weather_code: 3 },
      });
  }
}

function fuzzed(
  stream: InputStream,
  kind: Kind,
  rnd: () => number,
  seq: number,
  big: Uint8Array,
): Uint8Array {
  const base = valid(stream, rnd, seq);
  switch (kind) {
    case 'random':
      return Uint8Array.from({ length: Math.floor(rnd() * 600) }, () => Math.floor(rnd() * 256));
    case 'truncated':
      return base.subarray(0, Math.floor(rnd() * base.byteLength));
    case 'oversized': {
      const out = big.subarray(0, MAX_PAYLOAD_BYTES[stream] + 1 + Math.floor(rnd() * 100));
      out.set(base.subarray(0, Math.min(base.byteLength, 64)));
      return out;
    }
    case 'mutated': {
      const out = base.slice();
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) {
        const at = Math.floor(rnd() * out.length);
        out[at] = (out[at] ?? 0) ^ (1 << Math.floor(rnd() * 8));
      }
      return out;
    }
    case 'nan': {
      if (stream === 'weather')
        return new TextEncoder().encode(`{"v":1,"session":7,"seq":${seq},"tUs":NaN,"current":{}}`);
      const out = base.slice();
      const view = new DataView(out.buffer);
      // A NaN float32 somewhere in the body (rates, scales, samples, offsets alike).
      const at = HEADER_BYTES + Math.floor(rnd() * Math.max(1, out.byteLength - HEADER_BYTES - 4));
      if (at + 4 <= out.byteLength) view.setFloat32(at, Number.NaN, true);
      return out;
    }
    case 'wrong-version': {
      if (stream === 'weather')
        return new TextEncoder().encode(
          `{"v":${2 + Math.floor(rnd() * 9)},"session":7,"seq":1,"current":{}}`,
        );
      const out = base.slice();
      out[2] = 2 + Math.floor(rnd() * 250);
      return out;
    }
  }
}

for (const stream of ['ecg', 'can', 'audio', 'camera', 'weather'] as const) {
  it(`${stream}: ${PER_CODEC} fuzzed payloads are all counted, none crashes`, () => {
    const rnd = prng(0xd5 + stream.length);
    const tracker = new SequenceTracker();
    const big = new Uint8Array(MAX_PAYLOAD_BYTES[stream] + 200);
    const topic = topicFor('fuzz', stream);
    const counts = new Map<string, number>();
    const codesOf = new Map<Kind, Set<string>>(KINDS.map((k) => [k, new Set<string>()]));
    const byKind = new Map<Kind, { ok: number; invalid: number }>(
      KINDS.map((k) => [k, { ok: 0, invalid: 0 }]),
    );
    for (let i = 0; i < PER_CODEC; i++) {
      const kind = KINDS[i % KINDS.length] as Kind;
      const ev: IngestEvent = ingestOne({ topic, payload: fuzzed(stream, kind, rnd, i, big) }, tracker);
      const tally = byKind.get(kind);
      assert.ok(tally);
      if (ev.kind === 'invalid') {
        tally.invalid++;
        counts.set(ev.code, (counts.get(ev.code) ?? 0) + 1);
        codesOf.get(kind)?.add(ev.code);
        assert.ok(ev.reason.length > 0);
        assert.doesNotMatch(
          ev.reason,
          /decoder failure/,
          'a decoder threw something other than a DecodeError',
        );
      } else {
        assert.equal(ev.kind, 'message');
        tally.ok++;
      }
    }
    const total = [...byKind.values()].reduce((n, t) => n + t.ok + t.invalid, 0);
    assert.equal(total, PER_CODEC);
    // These classes can never decode.
    for (const k of ['oversized', 'wrong-version'] as const)
      assert.equal(byKind.get(k)?.ok, 0, `${k} decoded`);
    assert.deepEqual([...(codesOf.get('oversized') ?? [])], ['oversized']);
    assert.deepEqual(
      [...(codesOf.get('wrong-version') ?? [])],
      [stream === 'weather' ? 'schema' : 'unsupported-version'],
    );
    // Truncated binary payloads only decode when the cut fell exactly at the end (never, by construction).
    if (stream !== 'weather') assert.equal(byKind.get('truncated')?.ok, 0);
    console.log(
      `${stream}: ${JSON.stringify(Object.fromEntries(byKind))} codes ${JSON.stringify(Object.fromEntries(counts))}`,
    );
  });
}
