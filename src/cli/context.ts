import type { Writable } from 'node:stream';

/** What every CLI verb gets: the global options and the output streams. Verbs stay thin: parse, call, render. */
export interface GlobalOptions {
  /** The Wharf root directory (`--root`, `WHARF_ROOT`, default /var/lib/wharf). */
  root: string;
  /** Run-time state directory (mounts, PIDs, sockets): `/run/wharf` for the default root, else `<root>/run`. */
  runRoot: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export interface CliContext {
  globals(): GlobalOptions;
  stdout: Writable;
  stderr: Writable;
  /** Set the process exit code without exiting (verbs that print partial results, like `rmi` of several images). */
  setExitCode(code: number): void;
}
