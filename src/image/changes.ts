/**
 * `--change` lines of `import` and `commit`: Dockerfile instructions read by the Dockerfile parser, expanded against
 * the config's own environment and applied as the builder applies them, exactly as moby's BuildFromConfig does. Only
 * Docker's set is accepted (moby's validCommitCommands: no STOPSIGNAL, SHELL or anything that needs a build);
 * anything else is an error, never silently ignored (moby/moby#13886). Pure.
 */
import { WharfError } from '../errors/index.js';
import type { ContainerConfig } from '../oci/index.js';
import {
  DockerfileError,
  expandInstruction,
  parseDockerfile,
  parseInstruction,
  type Node,
} from '../dockerfile/index.js';
import {
  applyInstruction,
  CONFIG_INSTRUCTIONS,
  type ConfigInstruction,
  type ConfigState,
} from './apply-instruction.js';

/** Docker's set: the config instructions but SHELL and STOPSIGNAL (moby's validCommitCommands). */
const CHANGE_INSTRUCTIONS: readonly string[] = CONFIG_INSTRUCTIONS.filter((k) => k !== 'SHELL' && k !== 'STOPSIGNAL');
type ChangeInstruction = Exclude<ConfigInstruction, { kind: 'SHELL' | 'STOPSIGNAL' }>;

const bad = (change: string, why: string) => new WharfError('INVALID_ARGUMENT', `invalid --change "${change}": ${why}`);

/** The Dockerfile parser's errors carry `--change:1: `; the change itself names the place better. */
function reasonOf(err: unknown): string {
  if (err instanceof DockerfileError) return err.reason;
  if (err instanceof WharfError) return err.message;
  throw err;
}

/** One `--change` value (it may hold several lines, as Docker joins them) → its checked, typed instructions. */
function parseChange(change: string): ChangeInstruction[] {
  let nodes: Node[];
  try {
    nodes = parseDockerfile(change + '\n', { file: '--change' }).nodes;
  } catch (err) {
    throw bad(change, reasonOf(err));
  }
  if (nodes.length === 0) throw bad(change, 'file with no instructions');
  // As in Docker, the keywords are checked before any instruction of the change is typed.
  for (const node of nodes) {
    const keyword = node.keyword.toUpperCase();
    if (!CHANGE_INSTRUCTIONS.includes(keyword)) {
      throw bad(change, `${keyword} is not a valid change command (valid: ${CHANGE_INSTRUCTIONS.join(', ')})`);
    }
  }
  return nodes.map((node) => {
    try {
      return parseInstruction(node, { file: '--change' }) as ChangeInstruction;
    } catch (err) {
      throw bad(change, reasonOf(err));
    }
  });
}

/** Apply one change to `config` (mutated); `state` carries "a CMD was set" from one change to the next. */
function applyChange(config: ContainerConfig, change: string, state: ConfigState): void {
  for (const parsed of parseChange(change)) {
    let inst: ChangeInstruction;
    try {
      inst = expandInstruction(parsed, config.Env ?? []).instruction;
    } catch (err) {
      throw bad(change, reasonOf(err));
    }
    applyInstruction(config, inst, state);
  }
}

/** The config with the changes applied, in order; the input is left as it was. */
export function applyChanges(config: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const out = structuredClone(config);
  const state: ConfigState = { cmdSet: false };
  for (const change of changes) applyChange(out, change, state);
  return out;
}
