/**
 * Writes docs/config.md from the config schema (src/config/schema.ts), so the documented options and
 * defaults cannot drift from what start-up validation accepts. `npm run docs:config`; a test checks that
 * the committed file is current.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema, parseConfig } from '../src/config/schema.ts';

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
};

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  const t = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
  const range =
    s.minimum !== undefined || s.maximum !== undefined || s.exclusiveMinimum !== undefined
      ? ` (${[
          s.exclusiveMinimum !== undefined
            ? `> ${s.exclusiveMinimum}`
            : s.minimum !== undefined
              ? `≥ ${s.minimum}`
              : '',
          s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? `≤ ${s.maximum}` : '',
        ]
          .filter(Boolean)
          .join(', ')})`
      : '';
  return t + range;
}

function objectOf(s: JsonSchema): JsonSchema | undefined {
  if (s.properties) return s;
  return s.anyOf?.find((a) => a.properties);
}

/** `defaults` are the plain defaults; `enabled` the defaults of sections that are null until given. */
function rows(s: JsonSchema, prefix: string, defaults: unknown, enabled: unknown, out: string[]): void {
  const obj = objectOf(s);
  if (!obj?.properties) return;
  for (const [key, child] of Object.entries(obj.properties)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const def = (defaults as Record<string, unknown> | null | undefined)?.[key];
    const on = (enabled as Record<string, unknown> | null | undefined)?.[key];
    const nested = objectOf(child);
    if (nested?.properties && def !== null && def !== undefined) {
      if (child.description) out.push(`| \`${path}\` | object | | ${child.description} |`);
      rows(child, path, def, on, out);
      continue;
    }
    const shown = def === undefined ? '' : `\`${JSON.stringify(def)}\``;
    out.push(
      `| \`${path}\` | ${nested ? 'object \\| null' : typeOf(child)} | ${shown} | ${child.description ?? ''} |`,
    );
    if (nested?.properties) rows(child, path, on, on, out);
  }
}

export function renderConfigDocs(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const defaults = parseConfig({});
  const out: string[] = [
    '# Configuration',
    '',
    'Generated from `src/config/schema.ts` by `npm run docs:config`; do not edit by hand.',
    '',
    '`drivesense run --config FILE` reads a JSON file; every field is optional and takes the default below.',
    'The file is validated at start-up and every problem is reported with its path (exit code 2).',
    '`drivesense config --defaults` prints the complete default config; `drivesense config --check FILE`',
    'validates a file and prints it with the defaults filled in. Durations are in ms unless the name says',
    'otherwise.',
    '',
    '| option | type | default | meaning |',
    '|---|---|---|---|',
  ];
  rows(schema, '', defaults, parseConfig({ influx: {}, files: {} }), out);
  out.push(
    '',
    'Sections that default to `null` (`influx`, `files`) are disabled until given; giving `{}` enables them',
    'with their defaults, e.g. `"influx": { "url": "http://127.0.0.1:8086" }`. A minimal live config:',
    '',
    '```json',
    JSON.stringify(
      {
        mqtt: { url: 'mqtt://127.0.0.1:1883' },
        influx: { url: 'http://127.0.0.1:8086', database: 'drivesense' },
      },
      null,
      2,
    ),
    '```',
    '',
  );
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../docs/config.md', import.meta.url));
  await writeFile(target, renderConfigDocs());
  console.log(`wrote ${target}`);
}
