import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { parseNormalizedNamed } from '../../reference/index.js';
import { readAllLimited } from '../../util/index.js';
import type * as BuildModule from '../../build/index.js';
import { humanSize } from '../../util/index.js';
import type { CliContext } from '../context.js';

/** build/ loads on use: other verbs (a container start above all) do not pay for initialising it. */
export const buildModule = (): Promise<typeof BuildModule> => import('../../build/index.js');
import { withDaemonEngine, withEngine, collect, confirm } from '../engine.js';
import { collectCheckedBy } from '../flag-values.js';
import { pullImage } from './pull-missing.js';
import { type BuildResourceFlags, buildResourceFlags, buildStepSpec } from '../build-resource-flags.js';

interface BuildFlags {
  tag: string[];
  forceRm?: boolean;
  file?: string;
  buildArg: string[];
  label: string[];
  target?: string;
  cache: boolean;
  cacheFrom: string[];
  quiet?: boolean;
  iidfile?: string;
  platform?: string;
  network?: string;
  addHost: string[];
  progress?: string;
  timestamp?: string;
  squash?: boolean;
  pull?: boolean;
}

const MAX_DOCKERFILE = 16 * 1024 * 1024;

function keyValues(list: readonly string[], flag: string, fromEnv: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i === 0) throw new WharfError('INVALID_ARGUMENT', `invalid argument "${item}" for "${flag}" flag`);
    if (i > 0) out[item.slice(0, i)] = item.slice(i + 1);
    else if (fromEnv) {
      const v = process.env[item];
      if (v !== undefined) out[item] = v;
    } else out[item] = '';
  }
  return out;
}

function parseTimestamp(v: string | undefined): Date | undefined {
  if (v === undefined || v === '') return undefined;
  const d = /^\d+$/.test(v) ? new Date(Number(v) * 1000) : new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new WharfError(
      'INVALID_ARGUMENT',
      `invalid timestamp ${JSON.stringify(v)}: want seconds since the epoch or RFC 3339`,
    );
  return d;
}

function looksLikeTar(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true; // gzip
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return true;
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return true; // zstd
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

/** The first `n` bytes of a stream (fewer at its end) and a stream that replays them followed by the rest. */
async function peek(src: Readable, n: number): Promise<{ head: Buffer; rest: Readable }> {
  const it = src[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as string);
    chunks.push(c);
    size += c.length;
  }
  const head = Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    yield head;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
  }
  return { head: head.subarray(0, n), rest: Readable.from(replay()) };
}

export function register(program: Command, ctx: CliContext): void {
  const build = program
    .command('build')
    .description('Build an image from a Dockerfile')
    .argument('<context>', 'PATH, or - to read a tar (or a Dockerfile) from stdin')
    // Docker's CLI checks every -t as a flag value, before anything is sent: exit 125 with pflag's message, no step runs.
    .option(
      '-t, --tag <name>',
      'Name and optionally a tag in the "name:tag" format',
      collectCheckedBy(parseNormalizedNamed),
      [],
    )
    .option('-f, --file <path>', "Name of the Dockerfile (default: 'PATH/Dockerfile'); - reads it from stdin")
    .option('--build-arg <arg>', 'Set build-time variables', collect, [])
    .option('--label <label>', 'Set metadata for an image', collect, [])
    .option('--target <stage>', 'Set the target build stage to build')
    .option('--no-cache', 'Do not use cache when building the image')
    .option('--cache-from <image>', 'Images to consider as cache sources', collect, [])
    .option('-q, --quiet', 'Suppress the build output and print image ID on success')
    .option('--iidfile <file>', 'Write the image ID to the file')
    .option('--platform <platform>', 'Set platform (only the local one)')
    .option('--network <mode>', 'Networking mode for the RUN instructions (default|host|none)')
    .option('--add-host <list>', 'Add a custom host-to-IP mapping ("host:ip")', collect, [])
    .option('--progress <type>', 'Type of progress output (auto, plain, tty)', 'auto')
    .option(
      '--timestamp <time>',
      'Creation time of new steps and clamp for layer mtimes (seconds or RFC 3339; default $SOURCE_DATE_EPOCH)',
    )
    .option('--squash', 'Squash newly built layers into a single new layer')
    .option('--pull', 'Always attempt to pull a newer version of the image')
    .option('--rm', 'Remove intermediate containers after a successful build', true)
    .option('--force-rm', 'Always remove intermediate containers');
  buildResourceFlags(build).action(async (contextArg: string, o: BuildFlags & BuildResourceFlags) => {
    const controller = new AbortController();
    let stoppedBy: NodeJS.Signals | undefined;
    const onSignal = (sig: NodeJS.Signals) => {
      stoppedBy = sig;
      controller.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const { Builder, BuildContext } = await buildModule();
      await withEngine(ctx, async (w) => {
        const network = o.network ?? 'default';
        if (!['default', 'host', 'none', 'bridge'].includes(network)) {
          throw new WharfError(
            'INVALID_ARGUMENT',
            `network mode "${network}" not supported by buildkit-less builds: use default, host or none`,
          );
        }
        if (o.progress && !['auto', 'plain', 'tty'].includes(o.progress))
          throw new WharfError('INVALID_ARGUMENT', `invalid progress type ${o.progress}: use auto, plain or tty`);
        const tmp = path.join(w.runRoot, 'build');
        let context: BuildModule.BuildContext;
        let dockerfile: { text: string; name: string } | undefined;
        if (contextArg === '-') {
          if (o.file === '-')
            throw new WharfError(
              'INVALID_ARGUMENT',
              "invalid argument: can't use stdin for both build context and dockerfile",
            );
          const { head, rest } = await peek(process.stdin, 512);
          if (looksLikeTar(head)) context = await BuildContext.fromTar(rest, tmp);
          else {
            context = await BuildContext.empty(tmp);
            dockerfile = {
              text: (await readAllLimited(rest, MAX_DOCKERFILE, 'Dockerfile')).toString('utf8'),
              name: 'Dockerfile',
            };
          }
        } else {
          context = await BuildContext.fromDirectory(contextArg);
        }
        try {
          if (!dockerfile) {
            if (o.file === '-')
              dockerfile = {
                text: (await readAllLimited(process.stdin, MAX_DOCKERFILE)).toString('utf8'),
                name: 'Dockerfile',
              };
            else if (o.file) {
              const abs = contextArg === '-' ? path.resolve(context.root, o.file) : path.resolve(o.file);
              try {
                dockerfile = { text: await fsp.readFile(abs, 'utf8'), name: path.basename(abs) };
              } catch {
                throw new WharfError(
                  'NOT_FOUND',
                  `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${abs}: no such file or directory`,
                );
              }
            } else dockerfile = await context.readDockerfile('Dockerfile');
          }
          const timestamp = parseTimestamp(o.timestamp ?? process.env.SOURCE_DATE_EPOCH);
          const step = await buildStepSpec(o);
          const builder = new Builder({
            root: w.root,
            images: w.images,
            snapshots: w.snapshots,
            db: w.db,
            runRoot: w.runRoot,
            ...(w.usernsRemap ? { usernsRemap: w.usernsRemap } : {}),
          });
          const result = await builder.build({
            context,
            dockerfile,
            tags: o.tag,
            buildArgs: keyValues(o.buildArg, '--build-arg', true),
            labels: keyValues(o.label, '--label', false),
            ...(o.target ? { target: o.target } : {}),
            noCache: o.cache === false,
            cacheFrom: o.cacheFrom,
            network: network === 'bridge' ? 'default' : (network as 'default' | 'host' | 'none'),
            addHosts: o.addHost,
            ...step,
            quiet: o.quiet ?? false,
            squash: o.squash ?? false,
            ...(timestamp ? { timestamp } : {}),
            ...(o.platform ? { platform: o.platform } : {}),
            pullBase: (ref, out) => pullImage(w, ref, out),
            ...(o.forceRm ? { forceRm: true } : {}),
            keepFailedStep: async (s) => {
              await w.containers.keepBuildStep(
                {
                  id: s.id,
                  image: s.imageId,
                  command: s.argv,
                  entrypoint: '',
                  env: s.env,
                  ...(s.workdir ? { workdir: s.workdir } : {}),
                  ...(s.user ? { user: s.user } : {}),
                },
                s,
              );
            },
            ...(o.pull ? { pull: true } : {}),
            out: ctx.stdout,
            err: ctx.stderr,
            signal: controller.signal,
          });
          if (o.quiet) ctx.stdout.write(`${result.imageId}\n`);
          if (o.iidfile) await fsp.writeFile(o.iidfile, result.imageId);
        } finally {
          await context.close();
        }
      });
    } catch (err) {
      // Docker prints build failures as they are ("COPY failed: …", "The command … returned a non-zero code: 3").
      if (err instanceof (await buildModule()).BuildStepFailed) {
        ctx.stderr.write(`${err.message}\n`);
        ctx.setExitCode(err.exitCode);
        return;
      }
      // Stopped by Ctrl-C (or SIGTERM): the docker CLI says nothing more and exits 128 + the signal's number.
      if (err instanceof WharfError && err.code === 'CANCELLED' && stoppedBy) {
        ctx.setExitCode(stoppedBy === 'SIGINT' ? 130 : 143);
        return;
      }
      if (err instanceof WharfError && err.code !== 'INTERNAL') {
        ctx.stderr.write(`${err.message}\n`);
        ctx.setExitCode(1);
        return;
      }
      throw err;
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  });

  const builder = program.command('builder').description('Manage the build cache');
  builder
    .command('prune')
    .description('Remove build cache')
    .option('-a, --all', 'Remove all unused build cache, not just dangling ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (o: { all?: boolean; force?: boolean }) => {
      if (!o.force && !(await confirm(ctx, 'WARNING! This will remove all dangling build cache.'))) return;
      const { Builder } = await buildModule();
      await withDaemonEngine(ctx, async (w) => {
        const r = await new Builder(w).prune();
        for (const id of r.deleted) ctx.stdout.write(`Deleted build cache image: ${id}\n`);
        ctx.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
      });
    });
  builder
    .command('du')
    .description('Show build cache disk usage')
    .action(async () =>
      withDaemonEngine(ctx, async (w) => {
        const u = await new (await buildModule()).Builder(w).diskUsage();
        ctx.stdout.write(
          `Cache entries:\t${u.entries} (${u.active} in use)\nCache mounts:\t${u.cacheMounts.count} (${humanSize(u.cacheMounts.size)})\nReclaimable:\t${humanSize(u.reclaimable)}\nTotal:\t\t${humanSize(u.size)}\n`,
        );
      }),
    );
}
