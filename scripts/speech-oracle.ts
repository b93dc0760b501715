/**
 * The ceiling of the served model's framework: the ideal output of its training target (the clean magnitude
 * over the noisy one, at most 1 and at least the training gain floor, on the live 512/128 STFT with the noisy
 * phase; the gain the model is trained to predict, known here from the clean signal) scored beside the noisy
 * input, RNNoise and the served model, on the VALIDATION split (a diagnostic; never the test split).
 *
 *   node --import tsx scripts/speech-oracle.ts [--model FILE] [--data ../shared/data] [--snr 0,5]
 *     [--categories car-interior] [--floor-db -25] [--ceiling-db 0] [--masks tmm,irm,wiener] [--clean-phase-below-hz F]
 *     [--dnsmos ../shared/peers/dnsmos]
 *
 * If the ideal mask reaches a peer's score on a metric, the framework allows it and the gap is the model's;
 * if it does not, no model of this kind will close it.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Dnsmos } from '../src/models/speech/dnsmos.ts';
import { METRIC_KEYS } from '../src/models/speech/evaluate.ts';
import { IDEAL_MASKS, idealMask } from '../src/models/speech/ideal-mask.ts';
import type { IdealMaskKind } from '../src/models/speech/ideal-mask.ts';
import { DIAGNOSTIC_OPTIONS, openDiagnostic, printMeansTable } from './speech-diagnostic.ts';
import type { DiagnosticSystem } from './speech-diagnostic.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...DIAGNOSTIC_OPTIONS,
      'floor-db': { type: 'string', default: '-25' },
      dnsmos: { type: 'string', default: '../shared/peers/dnsmos' },
      masks: { type: 'string', default: 'tmm' },
      'clean-phase-below-hz': { type: 'string', default: '0' },
      'ceiling-db': { type: 'string', default: '0' },
    },
  });
  const floorDb = Number(values['floor-db']);
  const ceilingDb = Number(values['ceiling-db']);
  const below = Number(values['clean-phase-below-hz']);
  if (!(floorDb < 0) || !(ceilingDb >= 0) || !(below >= 0))
    throw new Error('--floor-db must be < 0, --ceiling-db ≥ 0 and --clean-phase-below-hz ≥ 0 (numbers)');
  const { snrs, set, rnnoise, avdcnn } = await openDiagnostic(values);
  const dnsmos = existsSync(values.dnsmos) ? await Dnsmos.load(values.dnsmos) : null;
  const systems: Record<string, (clean: Float32Array, noisy: Float32Array) => Promise<Float32Array>> = {
    clean: (c) => Promise.resolve(c),
    noisy: (_c, x) => Promise.resolve(x),
    rnnoise: (_c, x) => Promise.resolve(rnnoise.process(x)),
    // RNNoise on the clean reference itself: how DNSMOS rates the peer's processing of a recording
    // without added noise.
    'rnnoise on the clean reference': (c) => Promise.resolve(rnnoise.process(c)),
    avdcnn: (_c, x) => avdcnn.enhance(x),
  };
  for (const kind of values.masks.split(',') as IdealMaskKind[]) {
    if (!IDEAL_MASKS.includes(kind))
      throw new Error(`--masks: ${kind} is not one of ${IDEAL_MASKS.join(', ')}`);
    systems[`ideal ${kind} (floor ${floorDb} dB${ceilingDb !== 0 ? `, ceiling ${ceilingDb} dB` : ''})`] = (
      c,
      x,
    ) => Promise.resolve(idealMask(c, x, { floorDb, kind, ceilingDb }));
    if (below > 0)
      systems[`ideal ${kind}, clean phase below ${below} Hz`] = (c, x) =>
        Promise.resolve(idealMask(c, x, { floorDb, kind, ceilingDb, cleanPhaseBelowHz: below }));
  }
  const keys = METRIC_KEYS.filter((k) => k !== 'p808');
  console.log(`validation, ${values.categories}; means over items`);
  const bySignal: Record<string, DiagnosticSystem> = Object.fromEntries(
    Object.entries(systems).map(([name, run]) => [name, (item) => run(item.clean, item.noisy)]),
  );
  await printMeansTable(snrs, (snr) => set.items.filter((i) => i.snrDb === snr), bySignal, keys, dnsmos, 3);
  await avdcnn.release();
  await dnsmos?.release();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
