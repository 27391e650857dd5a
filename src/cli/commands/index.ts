import type { Command } from 'commander';
import type { CliContext } from '../context.js';

interface VerbModule {
  register(program: Command, ctx: CliContext): void;
}

/**
 * Every verb module exports `register(program, ctx)`; they are listed here once, in help order, with the top-level
 * commands each one registers and the command groups of other modules it adds subcommands to:
 * test/unit/cli/verb-modules.test.ts checks both against what they register. A management path that names a
 * top-level verb (`image pull`, `container ls`) is rewritten to it before this runs (command-tree.ts), so it loads
 * only that verb's module.
 * A command line loads only the modules of its verb: `run` does not initialize the builder or the registry client
 * and their dependencies (8 ms of every `run`). An unknown verb, `help` or no verb loads them all.
 */
export const VERB_MODULES: ReadonlyArray<{
  name: string;
  verbs: readonly string[];
  extends?: readonly string[];
  load: () => Promise<VerbModule>;
}> = [
  { name: 'build', verbs: ['build', 'builder'], load: () => import('./build.js') },
  {
    name: 'images',
    verbs: ['images', 'image', 'history', 'tag', 'rmi', 'import', 'save', 'load'],
    load: () => import('./images.js'),
  },
  { name: 'inspect', verbs: ['inspect'], load: () => import('./inspect.js') },
  {
    name: 'registry-client',
    verbs: ['pull', 'push', 'login', 'logout', 'search'],
    load: () => import('./registry-client.js'),
  },
  { name: 'system', verbs: ['system'], load: () => import('./system.js') },
  { name: 'events', verbs: ['events', 'system'], load: () => import('./events.js') },
  { name: 'system-info', verbs: ['info', 'version', 'system'], load: () => import('./system-info.js') },
  { name: 'system-prune', verbs: ['system'], load: () => import('./system-prune.js') },
  { name: 'system-service', verbs: ['system'], load: () => import('./system-service.js') },
  {
    name: 'containers',
    verbs: [
      'run',
      'create',
      'start',
      'stop',
      'restart',
      'kill',
      'rm',
      'wait',
      'pause',
      'unpause',
      'rename',
      'container',
    ],
    load: () => import('./containers.js'),
  },
  {
    name: 'container-info',
    verbs: ['ps', 'logs', 'port', 'top', 'diff', 'export', 'container'],
    load: () => import('./container-info.js'),
  },
  { name: 'attach', verbs: ['attach', 'container'], load: () => import('./attach.js') },
  { name: 'volumes', verbs: ['volume'], load: () => import('./volumes.js') },
  { name: 'networks', verbs: ['network'], load: () => import('./networks.js') },
  { name: 'container-ops', verbs: ['commit', 'exec', 'cp'], load: () => import('./container-ops.js') },
  { name: 'registry', verbs: ['registry'], load: () => import('./registry.js') },
  { name: 'update', verbs: ['update', 'container'], load: () => import('./update.js') },
  { name: 'stats', verbs: ['stats', 'container'], load: () => import('./stats.js') },
];

/** Register the modules that define `verb` (all of them when none does, or without a verb). */
export async function registerVerbs(program: Command, ctx: CliContext, verb?: string): Promise<void> {
  const mine =
    verb === undefined ? [] : VERB_MODULES.filter((m) => m.verbs.includes(verb) || m.extends?.includes(verb));
  for (const m of mine.length ? mine : VERB_MODULES) (await m.load()).register(program, ctx);
}
