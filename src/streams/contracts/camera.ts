import { fail } from './errors.ts';
import { ByteWriter, MessageType, readHeader, writeHeader } from './header.ts';
import type { CameraFrame, PixelFormat } from './messages.ts';

/**
 * Codec of the `camera` stream (type 5): one frame per message, its capture time in the header.
 *
 * Body: 0 pixel format u8 (1 = JPEG, 2 = gray8, 3 = rgb24), 1 reserved u8, 2 width u16, 4 height u16,
 *       6 reserved u16, 8 pixel data to the end. Raw frames must hold exactly width × height × (1|3) bytes;
 *       a JPEG must start with the SOI marker (FF D8) and may give width = height = 0 (unknown).
 */
export const CAMERA_MAX_BYTES = 4 * 1024 * 1024;
const FORMATS: readonly PixelFormat[] = ['jpeg', 'gray8', 'rgb24'];

export interface CameraInput {
  readonly sessionId: number;
  readonly seq: number;
  readonly tUs: number;
  readonly pixelFormat: PixelFormat;
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function encodeCameraFrame(m: CameraInput): Uint8Array {
  const w = new ByteWriter(40 + m.data.byteLength);
  const lengthAt = writeHeader(w, {
    type: MessageType.CameraFrame,
    sessionId: m.sessionId,
    seq: m.seq,
    tUs: m.tUs,
  });
  const bodyStart = w.offset;
  w.u8(FORMATS.indexOf(m.pixelFormat) + 1);
  w.u8(0);
  w.u16(m.width);
  w.u16(m.height);
  w.u16(0);
  w.bytes(m.data);
  w.patchU32(lengthAt, w.offset - bodyStart);
  return w.finish();
}

export function decodeCameraFrame(bytes: Uint8Array): CameraFrame {
  const { header, body } = readHeader(bytes, MessageType.CameraFrame, CAMERA_MAX_BYTES);
  const code = body.u8('pixel format');
  const pixelFormat = FORMATS[code - 1];
  if (pixelFormat === undefined) fail('bad-field', `pixel format ${code} (1 = JPEG, 2 = gray8, 3 = rgb24)`);
  body.u8('reserved');
  const width = body.u16('width');
  const height = body.u16('height');
  body.u16('reserved');
  const n = body.remaining;
  if (pixelFormat === 'jpeg') {
    if (n < 4 || body.bytes[body.offset] !== 0xff || body.bytes[body.offset + 1] !== 0xd8) {
      fail('bad-field', 'JPEG data does not start with FF D8');
    }
  } else {
    const expected = width * height * (pixelFormat === 'gray8' ? 1 : 3);
    if (width === 0 || height === 0)
      fail('bad-field', `raw ${pixelFormat} frame needs a size, got ${width}x${height}`);
    if (expected !== n)
      fail('bad-length', `${width}x${height} ${pixelFormat} needs ${expected} bytes, ${n} present`);
  }
  return {
    kind: 'camera',
    ...header,
    endUs: header.tUs,
    bytes: bytes.byteLength,
    pixelFormat,
    width,
    height,
    data: body.bytesCopy(n, 'pixels'),
  };
}
