import { promises as fsp } from 'node:fs';
import { validateOutputPath } from '../output-path.js';
import * as path from 'node:path';
import type { Command } from 'commander';
import { WharfError, withDiskFullPlace } from '../../errors/index.js';
import { shortId } from '../../digest/index.js';
import { parseNormalizedNamed } from '../../reference/index.js';
import {
  imageHistory,
  inspectImage,
  listImages,
  parseImageFilters,
  type ImageListRow,
  type RemoveEvent,
} from '../../image/index.js';
import { ellipsis, humanSize, timeAgo, fsyncDir } from '../../util/index.js';
import { renderList } from '../format.js';
import { ROW_TYPES } from '../row-types.js';
import type { CliContext } from '../context.js';
import { withDaemonEngine, withEngine, withReadEngine, collect, confirm, goTimeString } from '../engine.js';
import { filterFlag } from '../flag-values.js';
import { writeInspect } from './container-info.js';
import { imagePlatform, requirePlatform } from './image-platform.js';
import { renderImageTree, type TreeImage } from '../image-tree.js';
import { formatPlatform } from '../../oci/index.js';
import type { Wharf } from '../../engine/index.js';

/** `images --tree`'s rows: the listed images (one row per tag) grouped by image, with platform and in-use. */
async function treeImages(w: Wharf, rows: readonly ImageListRow[]): Promise<TreeImage[]> {
  const byId = new Map<string, TreeImage>();
  for (const r of rows) {
    let t = byId.get(r.id);
    if (!t) {
      const p = await imagePlatform(w, r.id);
      t = {
        id: r.id,
        names: [],
        created: r.created ? Date.parse(r.created) / 1000 : 0,
        size: r.size,
        inUse: r.containers > 0,
        platform: formatPlatform(p),
        childId: w.images.records.manifests.ofImage(r.id)[0]?.digest ?? r.id,
      };
      byId.set(r.id, t);
    }
    if (r.repository !== '<none>' && r.tag !== '<none>') t.names.push(`${r.repository}:${r.tag}`);
  }
  return [...byId.values()];
}

const idColumn = (id: string, noTrunc: boolean) => (noTrunc ? id : shortId(id));

function printRemoveEvents(ctx: CliContext, events: RemoveEvent[]): void {
  for (const e of events) ctx.stdout.write('Untagged' in e ? `Untagged: ${e.Untagged}\n` : `Deleted: ${e.Deleted}\n`);
}

export function register(program: Command, ctx: CliContext): void {
  const imagesAction = async (
    repo: string | undefined,
    o: {
      all?: boolean;
      quiet?: boolean;
      digests?: boolean;
      trunc?: boolean;
      filter: string[];
      format?: string;
      tree?: boolean;
    },
  ) =>
    withReadEngine(ctx, async (w) => {
      const noTrunc = o.trunc === false; // commander turns --no-trunc into trunc=false
      if (o.tree) {
        // The docker CLI's shouldUseTree: what the tree cannot show yet (exit 1).
        const conflict = o.quiet
          ? '--quiet'
          : noTrunc
            ? '--no-trunc'
            : o.digests
              ? '--show-digest'
              : o.format !== undefined
                ? '--format'
                : undefined;
        if (conflict) throw new WharfError('INVALID_ARGUMENT', `${conflict} is not yet supported with --tree`);
      }
      const rows = listImages(w.images, {
        all: o.all ?? false,
        filters: parseImageFilters(o.filter),
        ...(repo ? { repoFilter: repo } : {}),
      });
      if (o.tree) {
        ctx.stdout.write(
          renderImageTree(await treeImages(w, rows), process.stdout.isTTY ? process.stdout.columns : 80),
        );
        return;
      }
      if (o.quiet) {
        // One line per row, as Docker: an image with several tags prints its ID once for each.
        for (const r of rows) ctx.stdout.write(idColumn(r.id, noTrunc) + '\n');
        return;
      }
      // As dockerd answers the docker CLI's image list: no container counts or shared sizes (N/A; `system df -v`
      // has them), VirtualSize with units.HumanSize's four digits.
      const displayRows = rows.map((r) => ({
        Containers: 'N/A',
        CreatedAt: r.created ? goTimeString(new Date(r.created)) : '',
        CreatedSince: r.created ? timeAgo(r.created) : 'N/A',
        Digest: r.digest,
        ID: idColumn(r.id, noTrunc),
        Repository: r.repository,
        SharedSize: 'N/A',
        Size: humanSize(r.size),
        Tag: r.tag,
        UniqueSize: 'N/A',
        VirtualSize: humanSize(r.size, 4),
      }));
      const table = o.digests
        ? '{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
        : '{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
      ctx.stdout.write(
        renderList(
          displayRows,
          o.format,
          table,
          {
            ID: 'IMAGE ID',
            CreatedSince: 'CREATED',
            CreatedAt: 'CREATED AT',
            SharedSize: 'SHARED SIZE',
            UniqueSize: 'UNIQUE SIZE',
          },
          ROW_TYPES.image,
        ),
      );
    });
  const imagesOptions = (c: Command) =>
    c
      .argument('[REPOSITORY[:TAG]]')
      .option('-a, --all', 'Show all images (default hides intermediate images)')
      .option('--digests', 'Show digests')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', filterFlag, [])
      .option(
        '--format <string>',
        'Format output using a custom template: "table", "table TEMPLATE", "json", or a Go template',
      )
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs')
      .option('--tree', 'List multi-platform images as a tree (EXPERIMENTAL)')
      .action(imagesAction);
  imagesOptions(program.command('images').description('List images'));

  const image = program.command('image').description('Manage images');

  const inspectAction = async (names: string[], o: { format?: string }) =>
    withReadEngine(ctx, async (w) => {
      const out: unknown[] = [];
      let failed: WharfError | undefined;
      for (const n of names) {
        try {
          out.push(await inspectImage(w.images, n));
        } catch (err) {
          if (!(err instanceof WharfError) || err.code !== 'NOT_FOUND') throw err;
          failed = err;
          ctx.stderr.write(`Error: ${err.message}\n`);
        }
      }
      writeInspect(ctx, out, o.format);
      if (failed) ctx.setExitCode(1);
    });
  image
    .command('inspect')
    .description('Display detailed information on one or more images')
    .argument('<IMAGE...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(inspectAction);

  const historyAction = async (
    name: string,
    o: { human: string | boolean; trunc?: boolean; quiet?: boolean; format?: string; platform?: string },
  ) =>
    withDaemonEngine(ctx, async (w) => {
      await requirePlatform(w, name, o.platform);
      const rows = await imageHistory(w.images, name);
      const human = !(o.human === false || String(o.human).replace(/^=/, '') === 'false');
      const noTrunc = o.trunc === false; // commander turns --no-trunc into trunc=false
      if (o.quiet) {
        for (const r of rows) ctx.stdout.write((r.id === '<missing>' ? r.id : idColumn(r.id, noTrunc)) + '\n');
        return;
      }
      const displayRows = rows.map((r) => ({
        ID: r.id === '<missing>' ? r.id : idColumn(r.id, noTrunc),
        CreatedSince: r.created ? (human ? timeAgo(r.created) : r.created) : 'N/A',
        CreatedAt: r.created ? `${new Date(r.created).toISOString().slice(0, 19)}Z` : '', // RFC 3339, seconds
        // The docker CLI turns tabs into spaces and keeps every other character (`#(nop)  CMD` has two spaces).
        CreatedBy: noTrunc ? r.createdBy.replaceAll('\t', ' ') : ellipsis(r.createdBy.replaceAll('\t', ' '), 45),
        Size: human ? humanSize(r.size) : String(r.size),
        Comment: r.comment,
      }));
      ctx.stdout.write(
        renderList(
          displayRows,
          o.format,
          '{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
          {
            ID: 'IMAGE',
            CreatedSince: 'CREATED',
            CreatedBy: 'CREATED BY',
            CreatedAt: 'CREATED AT',
          },
          ROW_TYPES.history,
        ),
      );
    });
  const historyOptions = (c: Command) =>
    c
      .argument('<IMAGE>')
      .option('-H, --human [bool]', 'Print sizes and dates in human readable format', true)
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs')
      .option('--format <string>', 'Format output using a custom template')
      .option(
        '--platform <string>',
        'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
      )
      .action(historyAction);
  historyOptions(program.command('history').description('Show the history of an image'));

  const tagAction = async (src: string, target: string) => {
    // The docker CLI parses the target itself, and says so.
    try {
      parseNormalizedNamed(target);
    } catch (err) {
      throw new WharfError(
        'INVALID_ARGUMENT',
        `Error parsing reference: ${JSON.stringify(target)} is not a valid repository/tag: ${(err as Error).message}`,
      );
    }
    return withDaemonEngine(ctx, async (w) => w.images.tag(src, target));
  };
  program
    .command('tag')
    .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .argument('<SOURCE_IMAGE[:TAG]>')
    .argument('<TARGET_IMAGE[:TAG]>')
    .action(tagAction);

  const rmiAction = async (names: string[], o: { force?: boolean; prune?: boolean; platform: string[] }) =>
    withEngine(ctx, async (w) => {
      for (const n of names) {
        try {
          // One platform per stored image: each asked platform must be the image's (then the image goes).
          for (const p of o.platform) await requirePlatform(w, n, p);
          printRemoveEvents(ctx, await w.images.remove(n, { force: o.force ?? false, noPrune: o.prune === false }));
        } catch (err) {
          if (!(err instanceof WharfError)) throw err;
          ctx.stderr.write(`Error response from daemon: ${err.message}\n`);
          // As the docker CLI: with -f a missing image is said, not a failure (as `rm -f` of a missing container).
          if (!(o.force && err.code === 'NOT_FOUND')) ctx.setExitCode(1);
        }
      }
    });
  const rmiOptions = (c: Command) =>
    c
      .argument('<IMAGE...>')
      .option('-f, --force', 'Force removal of the image')
      .option('--no-prune', 'Do not delete untagged parents')
      .option(
        '--platform <strings>',
        'Remove only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
        (v: string, prev: string[]) => [...prev, ...v.split(',')],
        [],
      )
      .action(rmiAction);
  rmiOptions(program.command('rmi').description('Remove one or more images'));

  image
    .command('prune')
    .description('Remove unused images')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', filterFlag, [])
    .action(async (o: { all?: boolean; force?: boolean; filter: string[] }) => {
      const warning = o.all
        ? 'WARNING! This will remove all images without at least one container associated to them.'
        : 'WARNING! This will remove all dangling images.';
      if (!o.force && !(await confirm(ctx, warning))) return;
      await withDaemonEngine(ctx, async (w) => {
        const f = parseImageFilters(o.filter);
        const { events, reclaimed } = await w.images.prune({
          all: o.all ?? false,
          filter: (img) =>
            !f.label ||
            f.label.every((l) =>
              l.includes('=') ? img.labels[l.split('=')[0]!] === l.slice(l.indexOf('=') + 1) : l in img.labels,
            ),
        });
        if (events.length) {
          ctx.stdout.write('Deleted Images:\n');
          for (const e of events)
            ctx.stdout.write('Untagged' in e ? `untagged: ${e.Untagged}\n` : `deleted: ${e.Deleted}\n`);
          ctx.stdout.write('\n');
        }
        ctx.stdout.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
      });
    });

  const importAction = async (
    file: string,
    ref: string | undefined,
    o: { change: string[]; message?: string; platform?: string },
  ) =>
    withDaemonEngine(ctx, async (w) => {
      const { parsePlatform } = await import('../../oci/index.js');
      // The docker CLI opens the file itself: one that cannot be opened is its error ("open x.tar: …"), not the daemon's.
      if (file !== '-') await (await fsp.open(file)).close();
      const img = await w.images.archives.import(file === '-' ? process.stdin : path.resolve(file), {
        changes: o.change,
        ...(o.message ? { message: o.message } : {}),
        sourceName: file,
        ...(ref ? { reference: ref } : {}),
        ...(o.platform ? { platform: parsePlatform(o.platform) } : {}),
      });
      ctx.stdout.write(img.id + '\n');
    });
  const importOptions = (c: Command) =>
    c
      .argument('<file|->')
      .argument('[REPOSITORY[:TAG]]')
      .option('-c, --change <instruction>', 'Apply Dockerfile instruction to the created image', collect, [])
      .option('-m, --message <string>', 'Set commit message for imported image')
      .option('--platform <string>', 'Set platform if server is multi-platform capable')
      .action(importAction);
  importOptions(
    program.command('import').description('Import the contents from a tarball to create a filesystem image'),
  );

  const saveAction = async (names: string[], o: { output?: string; platform?: string }) =>
    withDaemonEngine(ctx, async (w) => {
      if (o.output) await validateOutputPath(o.output, 'save image'); // the CLI's check, before any engine call
      for (const n of names) await requirePlatform(w, n, o.platform);
      if (!o.output && process.stdout.isTTY) {
        throw new WharfError(
          'INVALID_ARGUMENT',
          'cowardly refusing to save to a terminal. Use the -o flag or redirect',
        );
      }
      if (!o.output) {
        await w.images.archives.save(names, process.stdout);
        return;
      }
      // Write next to the target and rename at the end, so a failed save never leaves a truncated archive.
      const out = path.resolve(o.output);
      const tmp = `${out}.wharf-${process.pid}.tmp`;
      try {
        // Opened by the verb: a path that cannot be written is the CLI's error, not the daemon's.
        const fh = await fsp.open(tmp, 'w');
        await w.images.archives.save(names, fh.createWriteStream());
        await fsp.rename(tmp, out);
        await fsyncDir(path.dirname(out));
      } catch (err) {
        throw withDiskFullPlace(err, out); // Node's message of a failed write() names no file
      } finally {
        await fsp.rm(tmp, { force: true });
      }
    });
  const saveOptions = (c: Command) =>
    c
      .argument('<IMAGE...>')
      .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
      .option(
        '--platform <string>',
        'Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
      )
      .action(saveAction);
  saveOptions(
    program.command('save').description('Save one or more images to a tar archive (streamed to STDOUT by default)'),
  );

  const loadAction = async (o: { input?: string; quiet?: boolean; platform?: string }) =>
    withDaemonEngine(ctx, async (w) => {
      if (!o.input && process.stdin.isTTY) {
        throw new WharfError('INVALID_ARGUMENT', 'requested load from stdin, but stdin is empty');
      }
      const { parsePlatform } = await import('../../oci/index.js');
      const platform = o.platform === undefined ? undefined : parsePlatform(o.platform);
      // Opened first: a stream of a file that cannot be opened fails later, as an 'error' event no one listens to yet
      // (a stack trace instead of one line). Destroyed (and so closed) at the end: a load that fails before reading
      // it would leave the file to the garbage collector, which warns on stderr.
      const fh = o.input ? await fsp.open(o.input) : undefined; // its error names the file as given, as docker's
      const src = fh ? fh.createReadStream() : process.stdin;
      try {
        const res = await w.images.archives.load(src, platform ? { platform } : {});
        for (const l of res.loaded)
          ctx.stdout.write(l.name ? `Loaded image: ${l.name}\n` : `Loaded image ID: ${l.id}\n`);
      } finally {
        if (fh) src.destroy();
      }
    });
  const loadOptions = (c: Command) =>
    c
      .option('-i, --input <file>', 'Read from tar archive file, instead of STDIN')
      .option('-q, --quiet', 'Suppress the load output')
      .option(
        '--platform <string>',
        'Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
      )
      .action(loadAction);
  loadOptions(program.command('load').description('Load an image from a tar archive or STDIN'));
}
