import type { SensorMessage } from '../contracts/messages.ts';
import type { FeatureRow, WindowFeatureExtractor } from './extractor.ts';
import { CONTEXT_FEATURES, contextVector, weatherContext } from './weather.ts';

/**
 * Weather context (measurement `context`): one row per new observation, at the observation's own time,
 * reported with the window it arrives in. Missing values are left out of the row (never written as 0), and
 * `missing` counts them.
 */
export class ContextExtractor implements WindowFeatureExtractor {
  readonly measurement = 'context';
  readonly stream = 'weather' as const;
  private pending: FeatureRow | null = null;

  onMessage(m: SensorMessage): void {
    if (m.kind !== 'weather') return;
    const c = weatherContext(m);
    const v = contextVector(c);
    const fields: Record<string, number | string> = { missing: c.missing.length, local_hour: c.localHour };
    CONTEXT_FEATURES.forEach((name, i) => {
      if (v.mask[i] === 1) fields[name] = v.values[i] as number;
    });
    if (c.wmoCategory !== null) fields['wmo_category'] = c.wmoCategory;
    this.pending = { tUs: c.tUs, fields };
  }

  onWindow(): FeatureRow | null {
    const row = this.pending;
    this.pending = null;
    return row;
  }
}
