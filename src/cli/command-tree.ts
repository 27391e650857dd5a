/**
 * Docker 28's command tree, as `docker --help` and `docker GROUP --help` show it: which top-level verbs are "Common
 * Commands", which management commands exist, and under which names (`container ls|list|ps`, `image rm|remove`) each
 * verb also answers. This is the one table of names → handlers: a verb module registers each handler once (the
 * top-level `ps`, or a group-only command such as `container prune`), and `resolveCommand` rewrites the names a user
 * typed into that one command before the verb modules are loaded, so `container ls` loads only the module of `ps`.
 * Pure data and string logic; help rendering is in help.ts.
 */

/** One name under a management command. */
export interface SubcommandEntry {
  /** The canonical name (the one `docker GROUP --help` lists). */
  name: string;
  /** Other names it answers to under the group (`list`, `ps` for `container ls`). */
  aliases?: readonly string[];
  /**
   * The top-level verb that handles it (`ps` for `container ls`). Absent: the group's own subcommand of this name
   * handles it (`container prune`, `image inspect`, `volume ls`).
   */
  verb?: string;
  /** docker lists this path after the top-level name in "Aliases:" (`image build, build, builder build`). */
  secondary?: boolean;
}

export interface GroupEntry {
  name: string;
  description: string;
  subcommands: readonly SubcommandEntry[];
}

/** `docker --help`'s "Common Commands", in its order. */
export const COMMON_COMMANDS: readonly string[] = [
  'run',
  'exec',
  'ps',
  'build',
  'pull',
  'push',
  'images',
  'login',
  'logout',
  'search',
  'version',
  'info',
];

const same = (name: string, aliases?: readonly string[]): SubcommandEntry =>
  aliases ? { name, aliases, verb: name } : { name, verb: name };
const own = (name: string, aliases?: readonly string[]): SubcommandEntry => (aliases ? { name, aliases } : { name });

/** The management commands (docker 28's, without swarm, plugins, contexts, checkpoints and trust). */
export const GROUPS: readonly GroupEntry[] = [
  {
    name: 'builder',
    description: 'Manage builds',
    subcommands: [{ name: 'build', verb: 'build', secondary: true }, own('prune')],
  },
  {
    name: 'container',
    description: 'Manage containers',
    subcommands: [
      same('attach'),
      same('commit'),
      same('cp'),
      same('create'),
      same('diff'),
      same('exec'),
      same('export'),
      own('inspect'),
      same('kill'),
      same('logs'),
      { name: 'ls', aliases: ['list', 'ps'], verb: 'ps' },
      same('pause'),
      same('port'),
      own('prune'),
      same('rename'),
      same('restart'),
      same('rm', ['remove']),
      same('run'),
      same('start'),
      same('stats'),
      same('stop'),
      same('top'),
      same('unpause'),
      same('update'),
      same('wait'),
    ],
  },
  {
    name: 'image',
    description: 'Manage images',
    subcommands: [
      same('build'),
      same('history'),
      same('import'),
      own('inspect'),
      same('load'),
      { name: 'ls', aliases: ['list'], verb: 'images' },
      own('prune'),
      same('pull'),
      same('push'),
      { name: 'rm', aliases: ['remove'], verb: 'rmi' },
      same('save'),
      same('tag'),
    ],
  },
  {
    name: 'network',
    description: 'Manage networks',
    subcommands: [
      own('connect'),
      own('create'),
      own('disconnect'),
      own('inspect'),
      own('ls', ['list']),
      own('prune'),
      own('rm', ['remove']),
    ],
  },
  {
    name: 'system',
    description: 'Manage Wharf',
    subcommands: [own('df'), same('events'), same('info'), own('prune'), own('service')],
  },
  {
    name: 'volume',
    description: 'Manage volumes',
    subcommands: [own('create'), own('inspect'), own('ls', ['list']), own('prune'), own('rm', ['remove'])],
  },
];

const GROUP_BY_NAME = new Map(GROUPS.map((g) => [g.name, g]));

export function groupNamed(name: string): GroupEntry | undefined {
  return GROUP_BY_NAME.get(name);
}

/** The entry that `name` (canonical or alias) names under `group`. */
export function subcommandOf(group: GroupEntry, name: string): SubcommandEntry | undefined {
  return group.subcommands.find((s) => s.name === name || s.aliases?.includes(name));
}

/**
 * Every name a top-level verb answers to, in docker's "Aliases:" order: the management paths first (canonical name,
 * then its aliases), the top-level name last (`container ls, container list, container ps, ps`). Empty when the
 * verb has no other name (docker then prints no "Aliases:" section).
 */
export function aliasesOfVerb(verb: string): string[] {
  const primary: string[] = [];
  const secondary: string[] = [];
  for (const g of GROUPS) {
    for (const s of g.subcommands) {
      if (s.verb !== verb) continue;
      (s.secondary ? secondary : primary).push(
        `${g.name} ${s.name}`,
        ...(s.aliases ?? []).map((a) => `${g.name} ${a}`),
      );
    }
  }
  return primary.length + secondary.length === 0 ? [] : [...primary, verb, ...secondary];
}

/** The aliases of a group-only subcommand (`volume ls, volume list`); empty when it has none. */
export function aliasesOfSubcommand(group: string, name: string): string[] {
  const s = groupNamed(group)?.subcommands.find((x) => x.name === name && !x.verb);
  return s?.aliases ? [`${group} ${s.name}`, ...s.aliases.map((a) => `${group} ${a}`)] : [];
}

/** Global flags that take a value (their value is not the verb). */
const GLOBAL_VALUE_FLAGS = new Set(['--root', '--log-level']);

export interface ResolvedCommand {
  /** argv with the management path replaced by the verb that handles it (`container ls -a` → `ps -a`). */
  argv: string[];
  /** The command as typed, canonical names (`container ls` for `container ps`); for help and error messages. */
  path: string[];
  /** The top-level word commander dispatches on after the rewrite (`ps`; `container` for `container prune`). */
  verb: string | undefined;
}

/**
 * Rewrite a management path into the command that handles it. Only the words right after the global flags are
 * looked at, so an argument that happens to be called `ls` is never touched.
 */
export function resolveCommand(argv: readonly string[]): ResolvedCommand {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--') {
    i += GLOBAL_VALUE_FLAGS.has(argv[i]!) ? 2 : 1;
  }
  const word = argv[i];
  if (word === undefined || word.startsWith('-')) return { argv: [...argv], path: [], verb: undefined };
  const group = groupNamed(word);
  const subName = argv[i + 1];
  if (!group || subName === undefined || subName.startsWith('-')) return { argv: [...argv], path: [word], verb: word };
  const sub = subcommandOf(group, subName);
  if (!sub) return { argv: [...argv], path: [word, subName], verb: word };
  if (!sub.verb) {
    // The group's own command: commander finds it by its canonical name (aliases are registered there too).
    return { argv: [...argv], path: [word, sub.name], verb: word };
  }
  return {
    argv: [...argv.slice(0, i), sub.verb, ...argv.slice(i + 2)],
    path: [word, sub.name],
    verb: sub.verb,
  };
}

/**
 * What follows the command path in docker 28's "Usage:" line (`docker VERB --help`), by canonical path; docker's own
 * quirks kept (`builder prune` shows no `[OPTIONS]`). A command not listed here gets its usage from its arguments.
 */
export const DOCKER_USAGE: Readonly<Record<string, string>> = {
  attach: '[OPTIONS] CONTAINER',
  build: '[OPTIONS] PATH | URL | -',
  'builder prune': '',
  commit: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  'container inspect': '[OPTIONS] CONTAINER [CONTAINER...]',
  'container prune': '[OPTIONS]',
  // docker's second form of cp is on a second line, as docker prints it.
  cp: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\twharf cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  create: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  diff: 'CONTAINER',
  events: '[OPTIONS]',
  exec: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  export: '[OPTIONS] CONTAINER',
  history: '[OPTIONS] IMAGE',
  'image inspect': '[OPTIONS] IMAGE [IMAGE...]',
  'image prune': '[OPTIONS]',
  images: '[OPTIONS] [REPOSITORY[:TAG]]',
  import: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  info: '[OPTIONS]',
  inspect: '[OPTIONS] NAME|ID [NAME|ID...]',
  kill: '[OPTIONS] CONTAINER [CONTAINER...]',
  load: '[OPTIONS]',
  login: '[OPTIONS] [SERVER]',
  logout: '[SERVER]',
  logs: '[OPTIONS] CONTAINER',
  pause: 'CONTAINER [CONTAINER...]',
  port: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  ps: '[OPTIONS]',
  pull: '[OPTIONS] NAME[:TAG|@DIGEST]',
  push: '[OPTIONS] NAME[:TAG]',
  rename: 'CONTAINER NEW_NAME',
  restart: '[OPTIONS] CONTAINER [CONTAINER...]',
  rm: '[OPTIONS] CONTAINER [CONTAINER...]',
  rmi: '[OPTIONS] IMAGE [IMAGE...]',
  run: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  save: '[OPTIONS] IMAGE [IMAGE...]',
  search: '[OPTIONS] TERM',
  start: '[OPTIONS] CONTAINER [CONTAINER...]',
  stats: '[OPTIONS] [CONTAINER...]',
  stop: '[OPTIONS] CONTAINER [CONTAINER...]',
  'system df': '[OPTIONS]',
  'system prune': '[OPTIONS]',
  'system service': '[OPTIONS] [URI]',
  tag: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  top: 'CONTAINER [ps OPTIONS]',
  unpause: 'CONTAINER [CONTAINER...]',
  update: '[OPTIONS] CONTAINER [CONTAINER...]',
  version: '[OPTIONS]',
  'network connect': '[OPTIONS] NETWORK CONTAINER',
  'network create': '[OPTIONS] NETWORK',
  'network disconnect': '[OPTIONS] NETWORK CONTAINER',
  'network inspect': '[OPTIONS] NETWORK [NETWORK...]',
  'network ls': '[OPTIONS]',
  'network prune': '[OPTIONS]',
  'network rm': 'NETWORK [NETWORK...]',
  'volume create': '[OPTIONS] [VOLUME]',
  'volume inspect': '[OPTIONS] VOLUME [VOLUME...]',
  'volume ls': '[OPTIONS]',
  'volume prune': '[OPTIONS]',
  'volume rm': '[OPTIONS] VOLUME [VOLUME...]',
  'volume update': '[OPTIONS] [VOLUME]',
  wait: 'CONTAINER [CONTAINER...]',
};
