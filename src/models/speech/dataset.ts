/**
 * Glue for training and evaluation: catalogue → 16 kHz noise lengths → the fixed split (checked leak-free) →
 * the loaded utterances and noises of one split, ready for `SpeechMixer` / `buildEvaluationSet`.
 */
import { CorpusLoader, loadCatalog, loadExtraSpeechCatalog } from './corpus.ts';
import type { Catalog, CorpusLoaderOptions, LoadedNoise, LoadedUtterance } from './corpus.ts';
import type { MixerPools } from './mixing.ts';
import { DEFAULT_SPLIT_RULES, assertDisjoint, buildSplit } from './splits.ts';
import type { SpeechDataSplit, SplitCounts, SplitName, SplitRules } from './splits.ts';

export interface SpeechData {
  readonly catalog: Catalog;
  readonly loader: CorpusLoader;
  readonly split: SpeechDataSplit;
  readonly counts: Record<SplitName, SplitCounts>;
}

/** Lists the data under `root`, decodes the noises (cached) for their lengths, builds and checks the split. */
export async function prepareSpeechData(
  root: string,
  options: CorpusLoaderOptions & { readonly rules?: SplitRules } = {},
): Promise<SpeechData> {
  const catalog = await loadCatalog(root);
  const loader = new CorpusLoader(catalog, options);
  const lengths = [];
  for (const n of catalog.noises)
    lengths.push({ id: n.id, category: n.category, samples: (await loader.audio(n.path)).length });
  const split = buildSplit(catalog.utterances, lengths, options.rules ?? DEFAULT_SPLIT_RULES);
  const counts = assertDisjoint(split);
  return { catalog, loader, split, counts };
}

/** Loads the utterances (with mouth crops for AV clips) and the noise recordings of split `name`. */
export async function loadSplitPools(data: SpeechData, name: SplitName): Promise<MixerPools> {
  const part = data.split.parts[name];
  const ids = new Set(part.utterances.map((u) => u.id));
  const utterances: LoadedUtterance[] = [];
  for (const u of data.catalog.utterances)
    if (ids.has(u.id)) utterances.push(await data.loader.loadUtterance(u));
  const noiseIds = new Set(part.noise.map((s) => s.noise));
  const noises: LoadedNoise[] = [];
  for (const n of data.catalog.noises) if (noiseIds.has(n.id)) noises.push(await data.loader.loadNoise(n));
  return { utterances, noises };
}

/** Training-only extra speech (`DIR/<speaker>/*.wav`), decoded to 16 kHz through the same cache. */
export async function loadExtraSpeech(
  dir: string,
  options: Pick<CorpusLoaderOptions, 'cacheDir'> = {},
): Promise<{ catalog: Catalog; utterances: LoadedUtterance[] }> {
  const catalog = await loadExtraSpeechCatalog(dir);
  const loader = new CorpusLoader(catalog, { ...options, audioOnly: true });
  const utterances: LoadedUtterance[] = [];
  for (const u of catalog.utterances) utterances.push(await loader.loadUtterance(u));
  return { catalog, utterances };
}
