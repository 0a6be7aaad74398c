#!/usr/bin/env node
// The `farol` command. The CLI bundle routes `farol hub` and `farol agent` to their apps.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../apps/cli/dist/farol.mjs', import.meta.url));
if (!existsSync(cli)) {
  console.error('farol: not built yet. Run `npm run build` (or `npm start`) in the Farol checkout first.');
  process.exit(1);
}
const { main } = await import(cli);
await main(process.argv);
