import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeAudio, encodeAudio } from '../../src/streams/contracts/audio.ts';
import { decodeCameraFrame, encodeCameraFrame } from '../../src/streams/contracts/camera.ts';
import { decodeCanBatch, encodeCanBatch } from '../../src/streams/contracts/can.ts';
import { decodePayload } from '../../src/streams/contracts/codec.ts';
import { HEADER_BYTES, MAX_TIME_US, MIN_TIME_US } from '../../src/streams/contracts/header.ts';
import { PHYSIO_CHANNEL_KINDS } from '../../src/streams/contracts/messages.ts';
import { decodePhysio, decodeRr, encodePhysio, encodeRr } from '../../src/streams/contracts/physio.ts';
import { parseInputTopic, topicFor } from '../../src/streams/contracts/topics.ts';
import { decodeWeather, encodeWeather } from '../../src/streams/contracts/weather.ts';
import { T0_US } from '../support/fixtures.ts';

const u32 = fc.nat({ max: 0xffffffff });
const timeUs = fc.integer({ min: MIN_TIME_US, max: MAX_TIME_US - 10_000_000_000 });

describe('topics', () => {
  it('round-trips input topics and refuses others', () => {
    assert.deepEqual(parseInputTopic(topicFor('car-7', 'ecg')), { vehicleId: 'car-7', stream: 'ecg' });
    assert.equal(parseInputTopic('drivesense/v1/car-7/stress'), null);
    assert.equal(parseInputTopic('drivesense/v2/car-7/ecg'), null);
    assert.equal(parseInputTopic('drivesense/v1/+/ecg'), null);
    assert.throws(() => topicFor('a/b', 'can'), /invalid vehicle id/);
  });
});

describe('physio codec', () => {
  it('float32 chunks round-trip exactly (property)', () => {
    const channel = fc.record({
      kind: fc.constantFrom(...PHYSIO_CHANNEL_KINDS),
      rateHz: fc.constantFrom(15.5, 31, 250, 360, 496, 1000),
      samples: fc.float32Array({ maxLength: 300, noNaN: true }),
    });
    fc.assert(
      fc.property(
        u32,
        u32,
        timeUs,
        fc.array(channel, { minLength: 1, maxLength: 6 }),
        (sessionId, seq, tUs, channels) => {
          const m = decodePhysio(encodePhysio({ sessionId, seq, tUs, sampleFormat: 'float32', channels }));
          assert.equal(m.sessionId, sessionId);
          assert.equal(m.seq, seq);
          assert.equal(m.tUs, tUs);
          assert.equal(m.channels.length, channels.length);
          channels.forEach((c, i) => {
            const d = m.channels[i];
            assert.ok(d);
            assert.equal(d.kind, c.kind);
            assert.equal(d.rateHz, Math.fround(c.rateHz));
            assert.deepEqual(d.samples, c.samples);
          });
        },
      ),
    );
  });

  it('int16 chunks round-trip raw × scale (property)', () => {
    fc.assert(
      fc.property(
        timeUs,
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 500 }),
        fc.constantFrom(0.001, 0.005, 1 / 200),
        (tUs, raw, scale) => {
          const physical = raw.map((r) => r * scale);
          const m = decodePhysio(
            encodePhysio({
              sessionId: 1,
              seq: 2,
              tUs,
              sampleFormat: 'int16',
              channels: [{ kind: 'ecg', rateHz: 496, samples: physical, scale }],
            }),
          );
          const s = Math.fround(scale);
          assert.deepEqual(
            Array.from(m.channels[0]?.samples ?? []),
            raw.map((r) => Math.fround(r * s)),
          );
        },
      ),
    );
  });

  it('spans the longest channel and counts NaN samples without refusing the chunk', () => {
    const m = decodePhysio(
      encodePhysio({
        sessionId: 1,
        seq: 1,
        tUs: T0_US,
        sampleFormat: 'float32',
        channels: [
          { kind: 'ecg', rateHz: 496, samples: new Float32Array(124) },
          { kind: 'eda', rateHz: 31, samples: [1, Number.NaN, 2, Number.POSITIVE_INFINITY, 3, 4, 5, 6] },
        ],
      }),
    );
    assert.equal(m.endUs - m.tUs, 258_065); // 8 / 31 Hz
    assert.equal(m.channels[1]?.nonFinite, 2);
  });

  it('RR intervals round-trip; the span runs to the last beat', () => {
    fc.assert(
      fc.property(
        timeUs,
        fc.array(fc.integer({ min: 300, max: 2000 }), { minLength: 1, maxLength: 50 }),
        (tUs, rr) => {
          const m = decodeRr(encodeRr({ sessionId: 9, seq: 3, tUs, rrMs: rr }));
          assert.deepEqual(Array.from(m.rrMs), rr);
          assert.equal(m.endUs, tUs + rr.slice(1).reduce((a, b) => a + b, 0) * 1000);
        },
      ),
    );
    assert.throws(
      () => decodeRr(encodeRr({ sessionId: 1, seq: 1, tUs: T0_US, rrMs: [800, Number.NaN] })),
      /non-finite/,
    );
    const ecg = decodePayload('ecg', encodeRr({ sessionId: 1, seq: 1, tUs: T0_US, rrMs: [800] }));
    assert.equal(ecg.ok && ecg.message.kind, 'rr');
  });
});

describe('CAN codec', () => {
  const frame = fc.record({
    dt: fc.nat({ max: 5000 }),
    extended: fc.boolean(),
    id: fc.nat({ max: 0x1fffffff }),
    rtr: fc.boolean(),
    bus: fc.nat({ max: 3 }),
    data: fc.uint8Array({ maxLength: 8 }),
  });
  it('batches round-trip (property)', () => {
    fc.assert(
      fc.property(timeUs, fc.array(frame, { minLength: 1, maxLength: 200 }), (t0, specs) => {
        let t = t0;
        const frames = specs.map((s, i) => {
          t += i === 0 ? 0 : s.dt;
          const id = s.extended ? s.id : s.id & 0x7ff;
          return {
            tUs: t,
            id,
            extended: s.extended,
            rtr: s.rtr,
            fd: false,
            errorFrame: false,
            bus: s.bus,
            data: s.data,
          };
        });
        const m = decodeCanBatch(encodeCanBatch({ sessionId: 5, seq: 6, frames }));
        assert.deepEqual(m.frames, frames);
        assert.equal(m.tUs, t0);
      }),
    );
  });
  it('refuses an 11-bit frame with a 29-bit id and a classic frame with 9 data bytes', () => {
    const bytes = encodeCanBatch({
      sessionId: 1,
      seq: 1,
      frames: [
        {
          tUs: T0_US,
          id: 0x7ff,
          extended: false,
          rtr: false,
          fd: false,
          errorFrame: false,
          bus: 0,
          data: new Uint8Array(8),
        },
      ],
    });
    const badId = bytes.slice();
    badId[HEADER_BYTES + 4 + 4 + 1] = 0x08; // id 0x8ff
    assert.throws(() => decodeCanBatch(badId), /bad-field: frame 0: id 0x8ff/);
    const badLen = bytes.slice();
    badLen[HEADER_BYTES + 4 + 10] = 9;
    assert.throws(() => decodeCanBatch(badLen), /bad-field: frame 0: data length 9/);
  });
});

describe('audio codec', () => {
  it('s16 and f32 chunks round-trip (property)', () => {
    fc.assert(
      fc.property(
        timeUs,
        fc.constantFrom(8000, 16000, 44100, 48000),
        fc.constantFrom(1, 2),
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 640 }),
        (tUs, rate, channels, raw) => {
          const ints = raw.slice(0, raw.length - (raw.length % channels));
          const samples = ints.map((r) => r / 32768);
          for (const sampleFormat of ['s16', 'f32'] as const) {
            const m = decodeAudio(
              encodeAudio({ sessionId: 1, seq: 1, tUs, sampleFormat, sampleRateHz: rate, channels, samples }),
            );
            assert.deepEqual(Array.from(m.samples), samples);
            assert.equal(m.endUs, tUs + Math.round((samples.length / channels / rate) * 1e6));
          }
        },
      ),
    );
  });
  it('conceals and counts NaN, counts clipping', () => {
    const m = decodeAudio(
      encodeAudio({
        sessionId: 1,
        seq: 1,
        tUs: T0_US,
        sampleFormat: 'f32',
        sampleRateHz: 16000,
        channels: 1,
        samples: [0.5, Number.NaN, 1, -1],
      }),
    );
    assert.deepEqual(Array.from(m.samples), [0.5, 0, 1, -1]);
    assert.equal(m.nonFinite, 1);
    assert.equal(m.clipped, 2);
  });
});

describe('camera codec', () => {
  it('raw and JPEG frames round-trip (property)', () => {
    fc.assert(
      fc.property(
        timeUs,
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 16 }),
        fc.boolean(),
        (tUs, w, h, rgb) => {
          const data = Uint8Array.from({ length: w * h * (rgb ? 3 : 1) }, (_, i) => i & 0xff);
          const m = decodeCameraFrame(
            encodeCameraFrame({
              sessionId: 1,
              seq: 1,
              tUs,
              pixelFormat: rgb ? 'rgb24' : 'gray8',
              width: w,
              height: h,
              data,
            }),
          );
          assert.deepEqual(m.data, data);
          assert.equal(m.width, w);
          assert.equal(m.height, h);
        },
      ),
    );
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    const m = decodeCameraFrame(
      encodeCameraFrame({
        sessionId: 1,
        seq: 1,
        tUs: T0_US,
        pixelFormat: 'jpeg',
        width: 0,
        height: 0,
        data: jpeg,
      }),
    );
    assert.deepEqual(m.data, jpeg);
    assert.throws(
      () =>
        decodeCameraFrame(
          encodeCameraFrame({
            sessionId: 1,
            seq: 1,
            tUs: T0_US,
            pixelFormat: 'jpeg',
            width: 0,
            height: 0,
            data: new Uint8Array(9),
          }),
        ),
      /FF D8/,
    );
  });
});

describe('weather codec', () => {
  it('round-trips and derives event time from current.time and the UTC offset', () => {
    const bytes = encodeWeather({
      v: 1,
      session: 3,
      seq: 4,
      utc_offset_seconds: -21600,
      current_units: { temperature_2m: '°F' },
      current: { time: '2026-01-14T15:00', temperature_2m: 17.5, rain: 0, weather_code: 3 },
    });
    const m = decodeWeather(bytes);
    assert.equal(m.tUs, T0_US); // 15:00 at UTC-6 is 21:00Z
    assert.equal(m.current['temperature_2m'], 17.5);
    assert.equal(m.units['temperature_2m'], '°F');
    assert.throws(
      () => decodeWeather(new TextEncoder().encode('{"v":1,"session":1,"seq":1,"current":{}}')),
      /schema: neither tUs/,
    );
    assert.throws(() => decodeWeather(new TextEncoder().encode('{"v":2}')), /schema: v/);
    assert.throws(() => decodeWeather(new TextEncoder().encode('{"v":1,')), /bad-json/);
  });
});

describe('ByteWriter growth', () => {
  it('encodes messages larger than the first estimate (CAN FD frames of 64 bytes)', () => {
    const frames = Array.from({ length: 40 }, (_, i) => ({
      tUs: T0_US + i,
      id: 0x123,
      extended: false,
      rtr: false,
      fd: true,
      errorFrame: false,
      bus: 0,
      data: new Uint8Array(64).fill(i),
    }));
    const m = decodeCanBatch(encodeCanBatch({ sessionId: 1, seq: 2, frames }));
    assert.equal(m.frames.length, 40);
    m.frames.forEach((f, i) => assert.deepEqual(f.data, frames[i]!.data));
  });
});
