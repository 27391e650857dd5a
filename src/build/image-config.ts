import type { Digest } from '../digest/index.js';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../oci/index.js';
import { canonicalJson } from '../oci/index.js';

/**
 * The image config of one build step, shaped as Docker's classic builder writes it: top-level keys sorted (Docker
 * marshals the image through a map), the container config with Docker's fields in Docker's order, the parent's
 * history plus one entry. Pure.
 */

/** Docker's container.Config, field order and defaults included, from whatever subset an image carries. */
function dockerRunConfig(rc: ContainerConfig, image: string): Record<string, unknown> {
  // The base image's settings carry over (Hostname, Tty and the attach flags of a committed container too), except
  // OpenStdin and StdinOnce, which the classic builder clears when a stage begins (dispatchState.beginStage).
  const out: Record<string, unknown> = {
    Hostname: rc.Hostname ?? '',
    Domainname: rc.Domainname ?? '',
    User: rc.User ?? '',
    AttachStdin: rc.AttachStdin ?? false,
    AttachStdout: rc.AttachStdout ?? false,
    AttachStderr: rc.AttachStderr ?? false,
  };
  if (rc.ExposedPorts && Object.keys(rc.ExposedPorts).length > 0) out.ExposedPorts = sortKeys(rc.ExposedPorts);
  out.Tty = rc.Tty ?? false;
  out.OpenStdin = false;
  out.StdinOnce = false;
  out.Env = rc.Env ?? null;
  out.Cmd = rc.Cmd ?? null;
  if (rc.Healthcheck) out.Healthcheck = rc.Healthcheck;
  if (rc.ArgsEscaped) out.ArgsEscaped = true;
  out.Image = image;
  out.Volumes = rc.Volumes && Object.keys(rc.Volumes).length > 0 ? sortKeys(rc.Volumes) : null;
  out.WorkingDir = rc.WorkingDir ?? '';
  out.Entrypoint = rc.Entrypoint ?? null;
  out.OnBuild = rc.OnBuild && rc.OnBuild.length > 0 ? rc.OnBuild : null;
  out.Labels = rc.Labels && Object.keys(rc.Labels).length > 0 ? sortKeys(rc.Labels) : null;
  if (rc.StopSignal) out.StopSignal = rc.StopSignal;
  if (rc.Shell && rc.Shell.length > 0) out.Shell = rc.Shell;
  return out;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface ChildImageInput {
  /** The parent's config (undefined for a first step on scratch). */
  parent: ImageConfig | undefined;
  parentId: Digest | null;
  rc: ContainerConfig;
  /** The step's recorded argv; its space-joined form is `created_by`. */
  cmd: readonly string[];
  /** The new layer's diff ID; undefined for a step that changed no file (an `empty_layer` entry). */
  diffId?: Digest;
  created: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
}

export function childImageConfig(input: ChildImageInput): { raw: Buffer; config: ImageConfig } {
  const history: HistoryEntry[] = [...(input.parent?.history ?? [])];
  const entry: HistoryEntry = { created: input.created };
  if (input.author) entry.author = input.author;
  entry.created_by = input.cmd.join(' ');
  if (!input.diffId) entry.empty_layer = true;
  history.push(entry);
  const diffIds = [...(input.parent?.rootfs.diff_ids ?? [])];
  if (input.diffId) diffIds.push(input.diffId);
  const cfg: Record<string, unknown> = { architecture: input.architecture };
  if (input.author) cfg.author = input.author;
  cfg.config = dockerRunConfig(input.rc, input.parentId ?? '');
  cfg.container_config = dockerRunConfig({ ...input.rc, Cmd: [...input.cmd] }, input.parentId ?? '');
  cfg.created = input.created;
  cfg.history = history;
  cfg.os = input.os;
  cfg.rootfs = { type: 'layers', diff_ids: diffIds };
  if (input.variant) cfg.variant = input.variant;
  const raw = canonicalJson(cfg);
  return { raw, config: cfg as unknown as ImageConfig };
}
