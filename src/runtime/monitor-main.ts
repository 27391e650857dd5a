/**
 * Entry of the detached per-container monitor process: `node monitor-main.js <monitor.json>`, or
 * `node monitor-main.js --standby`, which boots first and reads the config path on stdin (see standby.ts).
 * Started by `startMonitor`; outlives the CLI that started it.
 */
import { openSync, readFileSync, writeSync } from 'node:fs';
import { runMonitor, setMonitorLogFd } from './monitor-process.js';
import { monitorPaths, type MonitorConfig } from './monitor-types.js';
import { STANDBY_FLAG } from './standby.js';
import { trace } from '../util/trace.js';

/** The first line on stdin ('' when stdin closes first). Events, not `for await`: that loads five more modules. */
function configPathFromStdin(): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = (): void => {
      process.stdin.off('data', onData).off('end', done).off('error', done);
      process.stdin.pause();
      resolve(text.split('\n')[0]!.trim());
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      if (text.includes('\n')) done();
    };
    process.stdin.on('data', onData).on('end', done).on('error', done);
  });
}

trace('monitor main');

// An async function, not top-level await: the bundled monitor (dist/monitor-main.cjs) is a CommonJS script.
async function main(): Promise<void> {
  const standby = process.argv[2] === STANDBY_FLAG;
  const configPath = standby ? await configPathFromStdin() : process.argv[2];
  if (!configPath) {
    // A standby whose CLI never needed it (the run failed early, or the container was already running).
    if (standby) process.exit(0);
    process.stderr.write('usage: monitor-main <monitor.json>\n');
    process.exit(2);
  }
  trace('monitor config');
  const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as MonitorConfig;
  if (standby) {
    // Started before the state dir existed: stdio goes nowhere, so log to the state dir's monitor.log now, and make
    // the state dir this process's cwd, which is how isMonitorAlive recognises a standby monitor.
    process.stdin.destroy();
    process.chdir(cfg.stateDir);
    const fd = openSync(monitorPaths(cfg.stateDir).monitorLog, 'a', 0o600);
    setMonitorLogFd(fd);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      if (typeof chunk === 'string') writeSync(fd, chunk);
      else writeSync(fd, chunk);
      return true;
    }) as typeof process.stderr.write;
  }
  // The CLI that started us may be gone: a broken pipe or a hangup must not take the container's monitor with it.
  process.on('SIGPIPE', () => {});
  // A monitor that dies orphans its container's exit code and cleanup: report a stray error and keep supervising.
  process.on('uncaughtException', (err) => {
    process.stderr.write(`monitor: uncaught ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  });
  try {
    await runMonitor(cfg);
  } catch (err) {
    process.stderr.write(`monitor ${cfg.id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
  process.exit(0);
}

void main();
