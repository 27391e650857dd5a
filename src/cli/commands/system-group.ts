import type { Command } from 'commander';

/** The `system` command group, made by whichever of its modules registers first (system, events, system-info). */
export function systemGroup(program: Command): Command {
  const found = program.commands.find((c) => c.name() === 'system');
  if (found) return found;
  return program.command('system').description('Manage Wharf');
}
