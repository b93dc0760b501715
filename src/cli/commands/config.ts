import type { Command } from '../command.ts';
import { stringOpt } from '../command.ts';
import { loadConfig, parseConfig } from '../../config/schema.ts';

export const configCommand: Command = {
  name: 'config',
  summary: 'Validate a config file, or print the defaults',
  help: `Usage: drivesense config (--check FILE | --defaults)

  --check FILE   Validate FILE and print it with every default filled in (exit 2 when invalid)
  --defaults     Print the complete default config
  -h, --help     This help`,
  options: { check: { type: 'string' }, defaults: { type: 'boolean' } },
  async run(args) {
    const path = stringOpt(args, 'check');
    const config = path !== undefined ? await loadConfig(path) : parseConfig({});
    console.log(JSON.stringify(config, null, 2));
    return 0;
  },
};
