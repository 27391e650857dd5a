import type { Heredoc } from './ast.js';
import type { SourceRange } from './errors.js';

/**
 * Typed instructions: one interface per keyword, discriminated on `kind`. Values are as written
 * (quotes included where Docker expands them later); `expandInstruction` / `resolveStages`
 * produce the expanded form, which has the same shape.
 */

interface Base {
  /** The instruction's text (continuations joined), trimmed; heredoc bodies excluded. */
  original: string;
  range: SourceRange;
  /** Comment lines directly above it. */
  comments: string[];
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface OptionalKeyValue {
  key: string;
  /** Absent for a bare `ARG NAME`. */
  value?: string;
}

/** Exec form runs `args` directly; shell form hands `script` to the SHELL (`/bin/sh -c`). */
export type CommandLine = { form: 'exec'; args: string[] } | { form: 'shell'; script: string };

/** A file the builder must make available while a RUN step runs (a `#!` heredoc script). */
export interface InlineFile {
  path: string;
  data: string;
  mode: number;
}

/** A heredoc used as a COPY/ADD source. */
export interface SourceContent {
  /** The heredoc name, used as the file name in the destination. */
  path: string;
  data: string;
  /** Whether `$VAR` in `data` is expanded (false when the delimiter was quoted). */
  expand: boolean;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

/** A `RUN --mount=…` after CSV parsing and validation. */
export interface RunMount {
  type: MountType;
  target?: string;
  source?: string;
  /** Stage name/index or image for bind and cache mounts. */
  from?: string;
  readOnly: boolean;
  /** Cache id, or secret/ssh id. */
  id?: string;
  sharing?: CacheSharing;
  mode?: number;
  uid?: number;
  gid?: number;
  required?: boolean;
  /** tmpfs size limit in bytes. */
  size?: number;
  /** secret: expose as this environment variable. */
  env?: string;
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  image: string;
  /** Lower-cased stage name from `AS name`. */
  stageName?: string;
  platform?: string;
}

export interface RunInstruction extends Base {
  kind: 'RUN';
  command: CommandLine;
  heredocs: Heredoc[];
  /** Files to mount read-only while running (a heredoc script that starts with `#!`). */
  inlineFiles: InlineFile[];
  /** The `--mount` values as written; `mounts` is their parsed form. */
  mountSpecs: string[];
  mounts: RunMount[];
  network?: 'default' | 'none' | 'host';
  security?: 'sandbox' | 'insecure';
}

export interface CmdInstruction extends Base {
  kind: 'CMD';
  command: CommandLine;
}

export interface EntrypointInstruction extends Base {
  kind: 'ENTRYPOINT';
  command: CommandLine;
}

export interface EnvInstruction extends Base {
  kind: 'ENV';
  pairs: KeyValue[];
  /** Written as the deprecated `ENV key value`. */
  legacyForm: boolean;
}

export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: OptionalKeyValue[];
}

export interface LabelInstruction extends Base {
  kind: 'LABEL';
  pairs: KeyValue[];
  legacyForm: boolean;
}

export interface MaintainerInstruction extends Base {
  kind: 'MAINTAINER';
  maintainer: string;
}

export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  /** `80`, `80/tcp`, `8000-8010/udp` (after expansion; may hold `$VAR` before). */
  ports: string[];
}

interface CopyLike extends Base {
  /** Paths (or URLs for ADD) from the context or the `from` source. */
  sources: string[];
  /** Heredoc sources (`COPY <<EOF /file`). */
  sourceContents: SourceContent[];
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
  /** Written as a JSON array. */
  json: boolean;
}

export interface CopyInstruction extends CopyLike {
  kind: 'COPY';
  /** `--from`: a stage name, a stage index or an image reference. */
  from?: string;
  parents: boolean;
}

export interface AddInstruction extends CopyLike {
  kind: 'ADD';
  checksum?: string;
  keepGitDir: boolean;
}

export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}

export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}

export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  volumes: string[];
}

export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}

export interface StopSignalInstruction extends Base {
  kind: 'STOPSIGNAL';
  signal: string;
}

/** Docker's HealthConfig; durations in nanoseconds, absent when not given. */
export interface HealthConfig {
  /** `["NONE"]`, `["CMD", …args]` or `["CMD-SHELL", script]`. */
  test: string[];
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  health: HealthConfig;
}

export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger text stored in the image config (`OnBuild`), heredoc bodies included. */
  expression: string;
  /** The wrapped instruction, typed (never expanded: it runs in a downstream build). */
  trigger: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | EnvInstruction
  | ArgInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | CopyInstruction
  | AddInstruction
  | WorkdirInstruction
  | UserInstruction
  | VolumeInstruction
  | ShellInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

/** One build stage: a FROM and what follows it up to the next FROM. */
export interface Stage {
  /** Lower-cased `AS` name. */
  name?: string;
  index: number;
  /** The image (or stage name) after FROM, unexpanded. */
  baseName: string;
  platform?: string;
  from: FromInstruction;
  /** Everything after FROM, in order. */
  instructions: Instruction[];
  /** From the FROM line to the last instruction of the stage. */
  range: SourceRange;
}
