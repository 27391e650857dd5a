/**
 * Runs a registry in its own process, for tests that must kill it (crash safety):
 * `node --import tsx test/integration/registry/registry-main.ts <config.yml>`. Prints `listening <url>` once ready.
 */
import { loadRegistryConfig } from '../../../src/registry/config.js';
import { startRegistry } from '../../../src/registry/server/server.js';

const file = process.argv[2];
const config = await loadRegistryConfig({
  wharfRoot: process.cwd(),
  env: process.env,
  ...(file ? { configFile: file } : {}),
});
const reg = await startRegistry(config, { log: (l) => process.stderr.write(`${l}\n`) });
process.stdout.write(`listening ${reg.url}\n`);
const stop = () => void reg.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
