import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { NpyError, npyBytesAt, parseNpy, toFloat64 } from '../../src/streams/features/can/npy.ts';
import { SHARED_SKIP, shared } from '../readers/shared-data.ts';

/** A .npy file as numpy writes it: magic, version, header length, header dict padded to 64 bytes, data. */
function npy(header: string, data: Uint8Array, version: 1 | 2 = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  let h = header;
  const total = pre + h.length + 1;
  h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  out.set(Buffer.from(h, 'latin1'), pre);
  out.set(data, pre + h.length);
  return out;
}

function bytesOf(write: (dv: DataView) => void, n: number): Uint8Array {
  const b = new Uint8Array(n);
  write(new DataView(b.buffer));
  return b;
}

describe('npy reader', () => {
  test('little-endian float64, 1-D (the header numpy writes for the ground truth)', () => {
    const data = bytesOf(
      (dv) => [1.5, -0.4, 8.016666666666667].forEach((v, i) => dv.setFloat64(i * 8, v, true)),
      24,
    );
    const a = parseNpy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data));
    assert.deepEqual(
      [a.descr, a.kind, a.itemSize, a.shape, a.size, a.fortranOrder],
      ['<f8', 'f', 8, [3], 3, false],
    );
    assert.ok(a.data instanceof Float64Array);
    assert.deepEqual([...a.data], [1.5, -0.4, 8.016666666666667]);
  });

  test('big-endian float32 and int16, version 2.0 header', () => {
    const f = parseNpy(
      npy(
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
        bytesOf((dv) => {
          dv.setFloat32(0, 0.5, false);
          dv.setFloat32(4, -2, false);
        }, 8),
        2,
      ),
    );
    assert.deepEqual([...f.data], [0.5, -2]);
    const d = parseNpy(
      npy(
        "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
        bytesOf((dv) => {
          dv.setFloat64(0, -0.4, false);
          dv.setFloat64(8, 1e300, false);
        }, 16),
      ),
    );
    assert.deepEqual([...d.data], [-0.4, 1e300]);
    const i = parseNpy(
      npy(
        "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }",
        Uint8Array.from([0xff, 0xfe, 0x01, 0x00]),
      ),
    );
    assert.deepEqual([...i.data], [-2, 256]);
  });

  test('int64 exact as BigInt64Array; toFloat64 converts', () => {
    const a = parseNpy(
      npy(
        "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
        bytesOf((dv) => {
          dv.setBigInt64(0, -(2n ** 62n), true);
          dv.setBigInt64(8, 170n, true);
        }, 16),
      ),
    );
    assert.ok(a.data instanceof BigInt64Array);
    assert.deepEqual([...a.data], [-(2n ** 62n), 170n]);
    assert.deepEqual([...toFloat64(a)], [-(2 ** 62), 170]);
  });

  test('2-D C order and Fortran order give the same row-major result', () => {
    // [[1, 2, 3], [4, 5, 6]]: C stores 1 2 3 4 5 6, Fortran 1 4 2 5 3 6.
    const c = parseNpy(
      npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", Uint8Array.from([1, 2, 3, 4, 5, 6])),
    );
    const f = parseNpy(
      npy("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", Uint8Array.from([1, 4, 2, 5, 3, 6])),
    );
    assert.deepEqual([...c.data], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...f.data], [1, 2, 3, 4, 5, 6]);
    assert.equal(f.fortranOrder, true);
  });

  test('byte strings |S8 with numpy NUL stripping; 0-d arrays', () => {
    const s = parseNpy(
      npy(
        "{'descr': '|S4', 'fortran_order': False, 'shape': (2,), }",
        Uint8Array.from([0x25, 0xb5, 0, 0, 1, 2, 3, 4]),
      ),
    );
    assert.deepEqual([...npyBytesAt(s, 0)], [0x25, 0xb5]);
    assert.deepEqual([...npyBytesAt(s, 1)], [1, 2, 3, 4]);
    assert.throws(() => toFloat64(s), NpyError);
    const scalar = parseNpy(
      npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
        bytesOf((dv) => dv.setFloat64(0, 7, true), 8),
      ),
    );
    assert.deepEqual([scalar.shape, scalar.size, [...scalar.data]], [[], 1, [7]]);
  });

  test('a data offset that is not 8-aligned still reads (copied into an aligned buffer)', () => {
    const file = npy(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
      bytesOf((dv) => dv.setFloat64(0, 3.25, true), 8),
    );
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    assert.deepEqual([...parseNpy(shifted.subarray(3)).data], [3.25]);
  });

  test('a Node Buffer (whose slice() is a view, not a copy) reads the same as a Uint8Array', () => {
    const file = npy(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
      bytesOf((dv) => {
        dv.setFloat64(0, 1.25, true);
        dv.setFloat64(8, -9, true);
      }, 16),
    );
    const pooled = Buffer.concat([Buffer.from('xxxxx'), Buffer.from(file)]).subarray(5);
    assert.deepEqual([...parseNpy(pooled).data], [1.25, -9]);
  });

  test('clear errors', () => {
    const ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
    const cases: [Uint8Array, RegExp][] = [
      [Uint8Array.from([1, 2, 3]), /bad magic/],
      [npy(ok, new Uint8Array(8)), /data truncated: shape \(2\) needs 16 bytes, file has 8/],
      [
        npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(16)),
        /unsupported dtype '<c16'/,
      ],
      [
        npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)),
        /unsupported dtype '\|O'/,
      ],
      [
        npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)),
        /structured dtypes/,
      ],
      [npy("{'descr': '<f8', 'shape': (1,), }", new Uint8Array(8)), /fortran_order/],
      [
        npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", new Uint8Array(8)),
        /bad dimension -1/,
      ],
      [npy("{'descr': '<f8' 'fortran_order': False}", new Uint8Array(8)), /bad header/],
      [npy("__import__('os')", new Uint8Array(8)), /bad header/],
    ];
    for (const [bytes, re] of cases)
      assert.throws(
        () => parseNpy(bytes),
        (e: unknown) => e instanceof NpyError && re.test(e.message),
      );
    const v9 = npy(ok, new Uint8Array(16));
    v9[6] = 9;
    assert.throws(() => parseNpy(v9), /unsupported \.npy version 9\.0/);
  });
});

describe('npy reader: comma ground truth files', { skip: SHARED_SKIP }, () => {
  test('speed (4974×1 <f8), steering angle (4974 <f8), raw CAN (135468 |S8 and <i8)', () => {
    const base = 'can/processed_log/CAN/';
    const speed = parseNpy(readFileSync(shared(`${base}speed/value`)));
    assert.deepEqual([speed.descr, speed.shape], ['<f8', [4974, 1]]);
    // The first speed: the wheel speeds of 0AA#25B525B525A0258D (see can-decoder.test.ts) are 28.86, 28.86,
    // 28.65 and 28.46 km/h; mean 28.7075 km/h = 7.97430555… m/s.
    assert.ok(Math.abs((speed.data[0] as number) - 28.7075 / 3.6) < 1e-12);
    const angle = parseNpy(readFileSync(shared(`${base}steering_angle/value`)));
    assert.deepEqual([angle.descr, angle.shape], ['<f8', [4974]]);
    const data = parseNpy(readFileSync(shared(`${base}raw_can/data`)));
    const addr = parseNpy(readFileSync(shared(`${base}raw_can/address`)));
    assert.deepEqual([data.descr, data.shape, addr.descr, addr.shape], ['|S8', [135468], '<i8', [135468]]);
    // The log's first frame: 260#08FFFB0000001884.
    assert.equal(addr.data[0], 0x260n);
    assert.equal(Buffer.from(npyBytesAt(data, 0)).toString('hex').toUpperCase(), '08FFFB0000001884');
  });
});
