import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** Every verb module exports `register(program, ctx)`; they are listed here once. */
export function registerAll(program: Command, ctx: CliContext): void {
  void program;
  void ctx;
}
