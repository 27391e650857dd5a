/**
 * Entry of the detached per-container monitor process: `node monitor-main.js <monitor.json>`.
 * Started by `startMonitor`; outlives the CLI that started it.
 */
import { readFileSync } from 'node:fs';
import { runMonitor } from './monitor-process.js';
import type { MonitorConfig } from './monitor-types.js';

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: monitor-main <monitor.json>\n');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as MonitorConfig;
// The CLI that started us may be gone: a broken pipe or a hangup must not take the container's monitor with it.
process.on('SIGPIPE', () => {});
// A monitor that dies orphans its container's exit code and cleanup: report a stray error and keep supervising.
process.on('uncaughtException', (err) => {
  process.stderr.write(`monitor: uncaught ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
});
runMonitor(cfg).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`monitor ${cfg.id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
