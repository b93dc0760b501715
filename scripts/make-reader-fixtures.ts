/**
 * Writes the small reader fixtures in test/fixtures/readers/ from the real recordings in ../shared/data.
 * Run: node --import tsx scripts/make-reader-fixtures.ts
 *
 * Every data fixture is a byte-exact prefix of a real file (checked here), so the tests that use them test
 * the readers against real bytes, not against this project's own writers. Only headers and sizes change:
 * WFDB headers get the shorter sample count and the prefix's checksums; WAV headers get the shorter sizes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeMitAnnotations,
  decodeWfdbSignals,
  encodeMitAnnotations,
  encodeWfdbRecord,
  parseWfdbHeader,
} from '../src/streams/readers/wfdb.ts';
import type { WfdbHeader } from '../src/streams/readers/wfdb.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const shared = resolve(root, '../shared/data');
const out = join(root, 'test/fixtures/readers');
mkdirSync(out, { recursive: true });

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}

/** A WFDB record cut to its first `frames` frames: data bytes are a prefix of the original file. */
function wfdbPrefix(src: string, name: string, frames: number, note: string): void {
  const header = parseWfdbHeader(readFileSync(`${src}.hea`, 'latin1'));
  const dataName = header.signals[0]!.fileName;
  const dat = readFileSync(join(src, '..', dataName));
  const rec = decodeWfdbSignals(header, new Map([[dataName, dat]]), { startFrame: 0, frameCount: frames });
  const cut: Omit<WfdbHeader, 'signals'> & { frameCount: number } = {
    ...header,
    recordName: name,
    frameCount: frames,
    comments: [...header.comments, note],
  };
  const built = encodeWfdbRecord(
    cut,
    rec.signals.map((s) => ({ spec: { ...s.spec, fileName: `${name}.dat` }, raw: s.raw })),
  );
  const bytes = built.files.get(`${name}.dat`)!;
  if (!equalBytes(bytes, dat.subarray(0, bytes.byteLength)))
    throw new Error(`${name}: re-encoded data ≠ original prefix`);
  writeFileSync(join(out, `${name}.hea`), built.headerText);
  writeFileSync(join(out, `${name}.dat`), bytes);
  console.log(`${name}: ${frames} frames, ${bytes.byteLength} bytes`);
}

// MIT-BIH 100: first 6 s (2160 frames at 360 Hz, two signals, format 212) and its annotations in that span.
wfdbPrefix(
  join(shared, 'physio/mitdb/100'),
  'mitdb100-6s',
  2160,
  'fixture: first 2160 frames (6 s) of mitdb record 100',
);
{
  const atr = readFileSync(join(shared, 'physio/mitdb/100.atr'));
  const anns = decodeMitAnnotations(atr).annotations.filter((a) => a.sample < 2160);
  const enc = encodeMitAnnotations(anns, { nulTerminateAux: true });
  // The original bytes up to the first annotation past 6 s, plus the end-of-file word, must equal this.
  const body = enc.subarray(0, enc.byteLength - 2);
  if (!equalBytes(body, atr.subarray(0, body.byteLength)))
    throw new Error('100.atr prefix does not re-encode exactly');
  writeFileSync(join(out, 'mitdb100-6s.atr'), enc);
  console.log(`mitdb100-6s.atr: ${anns.length} annotations, ${enc.byteLength} bytes`);
}

// drivedb drive05: first 2 s (31 frames at 15.5 Hz, seven signals at four rates, format 16).
wfdbPrefix(
  join(shared, 'physio/drivedb/drive05'),
  'drive05-2s',
  31,
  'fixture: first 31 frames (2 s) of drivedb record drive05',
);

// RAV4 candump log: first 300 lines (~0.13 s), as written.
{
  const log = readFileSync(join(shared, 'can/rav4_2018-08-02--08-34-47_seg40.candump.log'), 'utf8');
  const head = log.split('\n').slice(0, 300).join('\n') + '\n';
  writeFileSync(join(out, 'rav4-seg40-head.candump'), head);
  console.log(`rav4-seg40-head.candump: 300 lines, ${head.length} bytes`);
}

/** A WAV cut to its first `frames` frames: chunks before `data` kept byte for byte, sizes patched. */
function wavPrefix(src: string, name: string, seconds: number): void {
  const b = readFileSync(src);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 12;
  let blockAlign = 0;
  let rate = 0;
  let factAt = -1;
  for (;;) {
    const id = b.toString('latin1', p, p + 4);
    const size = v.getUint32(p + 4, true);
    if (id === 'fmt ') {
      rate = v.getUint32(p + 12, true);
      blockAlign = v.getUint16(p + 20, true);
    }
    if (id === 'fact') factAt = p + 8;
    if (id === 'data') break;
    p += 8 + size + (size & 1);
  }
  const frames = Math.round(seconds * rate);
  const dataBytes = frames * blockAlign;
  const outBytes = Buffer.from(b.subarray(0, p + 8 + dataBytes));
  const ov = new DataView(outBytes.buffer, outBytes.byteOffset, outBytes.byteLength);
  ov.setUint32(4, outBytes.byteLength - 8, true);
  ov.setUint32(p + 4, dataBytes, true);
  if (factAt >= 0) ov.setUint32(factAt, frames, true);
  writeFileSync(join(out, name), outBytes);
  console.log(`${name}: ${frames} frames, ${outBytes.byteLength} bytes`);
}

// CMU ARCTIC (16-bit PCM, canonical header) and Lombard GRID (32-bit float, 18-byte fmt + fact chunk).
wavPrefix(
  join(shared, 'audio/speech/cmu_arctic/cmu_arctic_us_aew_a0001.wav'),
  'arctic-aew-a0001-head.wav',
  0.5,
);
wavPrefix(join(shared, 'audio/speech/lombard_grid/s30_l_lbwzzp.wav'), 'lombard-s30-lbwzzp-head.wav', 0.5);
