#!/usr/bin/env node
// Entry point of the `drivesense` command. The sources are TypeScript run through tsx's loader,
// so there is no build step between `npm ci` and the first run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
