/**
 * `drivesense quantize IN.onnx [--out OUT.onnx] [--min-elements N] [--json]`: the int8 CPU variant of an
 * exported model (src/models/common/onnx-quantize.ts; docs/models/quantization.md). The adapter: reads the
 * model and its sidecar, writes the quantised model and a sidecar that is the input's with a `quantization`
 * record (scheme, source file and SHA-256, the layers and their largest weight error) and the new SHA-256,
 * then loads the result in ONNX Runtime and runs it once on zeros, so a file that would not serve is never
 * left behind as if it were good.
 *
 * Exit status: 0 ok, 1 I/O or model error, 2 bad arguments.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import type { Command } from '../command.ts';
import { intOpt, stringOpt, UsageError } from '../command.ts';
import { sidecarPathFor } from '../../models/common/onnx-export.ts';
import type { OnnxSidecar } from '../../models/common/onnx-export.ts';
import {
  quantizedPathFor,
  quantizeOnnxMatMuls,
  QUANTIZATION_SCHEME,
} from '../../models/common/onnx-quantize.ts';
import { OnnxSession } from '../../models/common/onnx-session.ts';

const HELP = `Usage: drivesense quantize IN.onnx [--out OUT.onnx] [--min-elements 4096] [--json]

Writes the int8 CPU variant of an exported model: every matrix product with a constant weight of at least
--min-elements values gets int8 weights (one scale per output column) and activations quantised per run
(standard ONNX DynamicQuantizeLinear + MatMulInteger); everything else stays float32. The sidecar IN.json
is copied with a "quantization" record. The result is loaded and run once before the command succeeds.
A quantised model is not bit-exact: check its task metrics (for a speech model: drivesense eval speech
--model OUT.onnx --split validation) before serving it.

  --out FILE          the quantised model (default IN with .int8.onnx)
  --min-elements N    smaller matrices stay float32 (default 4096)
  --json              print the result as one JSON object
  -h, --help          this help

Exit status: 0 ok, 1 I/O or model error, 2 bad arguments.`;

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'Write the int8 CPU variant of an exported ONNX model (dense layers), with its sidecar',
  help: HELP,
  options: {
    out: { type: 'string' },
    'min-elements': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args) {
    const [input, ...extra] = args.positionals;
    if (input === undefined) throw new UsageError(`quantize needs IN.onnx\n\n${HELP}`);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    if (!input.endsWith('.onnx')) throw new UsageError('IN must be a .onnx file');
    const out = stringOpt(args, 'out') ?? quantizedPathFor(input);
    if (!out.endsWith('.onnx')) throw new UsageError('--out must end in .onnx');
    if (out === input) throw new UsageError('--out must differ from IN');
    const minElements = intOpt(args, 'min-elements', 4096);

    const bytes = new Uint8Array(await readFile(input));
    const result = quantizeOnnxMatMuls(bytes, { minElements });
    if (result.layers.length === 0)
      throw new Error(
        `${input}: no matrix product with a constant weight of ≥ ${minElements} values to quantise`,
      );
    const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    const sidecarIn = sidecarPathFor(input);
    const sidecar: OnnxSidecar | undefined = existsSync(sidecarIn)
      ? (JSON.parse(await readFile(sidecarIn, 'utf8')) as OnnxSidecar)
      : undefined;
    const record = {
      scheme: QUANTIZATION_SCHEME,
      // Relative to the output's directory, where the loader looks for it (enhancer-onnx.ts).
      source: { file: relative(dirname(out), input), sha256: sha256(bytes) },
      layers: result.layers,
      floatWeightBytes: result.floatWeightBytes,
      quantizedWeightBytes: result.quantizedWeightBytes,
    };
    await writeFile(out, result.bytes);
    const sidecarOut = sidecarPathFor(out);
    try {
      // Loaded and run once on zeros (symbolic dimensions 1): a model ONNX Runtime cannot serve is not kept.
      const session = await OnnxSession.create(out);
      await session.warmUp(1);
      await session.release();
    } catch (e) {
      await rm(out, { force: true });
      throw new Error(`${out}: ONNX Runtime cannot run the quantised model (${(e as Error).message})`, {
        cause: e,
      });
    }
    if (sidecar !== undefined)
      await writeFile(
        sidecarOut,
        `${JSON.stringify({ ...sidecar, quantization: record, sha256: sha256(result.bytes) }, null, 2)}\n`,
      );
    const summary = {
      out,
      sidecar: sidecar !== undefined ? sidecarOut : null,
      bytes: { before: bytes.length, after: result.bytes.length },
      ...record,
    };
    if (args.values['json'] === true) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `wrote ${out} (${(result.bytes.length / 1e6).toFixed(2)} MB, was ${(bytes.length / 1e6).toFixed(2)} MB): ` +
          `${result.layers.length} matrix products int8 (${result.layers.map((l) => `${l.k}×${l.n}`).join(', ')})`,
      );
      console.log(sidecar !== undefined ? `wrote ${sidecarOut}` : `no sidecar ${sidecarIn}: none written`);
      console.log('not bit-exact: check the task metrics before serving it (see --help)');
    }
    return 0;
  },
};
