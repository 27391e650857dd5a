import type { Command } from 'commander';
import { shortId } from '../../digest/index.js';
import { buildModule } from './build.js';
import { humanSize, timeAgo } from '../../util/index.js';
import { commandText, statusText } from '../../container/index.js';
import { imageDiskUsage, listImages } from '../../image/index.js';
import { renderTable, renderList } from '../format.js';
import { ROW_TYPES } from '../row-types.js';
import type { CliContext } from '../context.js';
import { withDaemonEngine, withEngine } from '../engine.js';
import { systemGroup } from './system-group.js';

function reclaimableText(reclaimable: number, total: number): string {
  if (total <= 0) return humanSize(reclaimable);
  return `${humanSize(reclaimable)} (${Math.floor((reclaimable * 100) / total)}%)`;
}

export function register(program: Command, ctx: CliContext): void {
  const system = systemGroup(program);

  system
    .command('df')
    .description('Show disk usage')
    .option('-v, --verbose', 'Show detailed information on space usage')
    .option('--format <string>', 'Format output using a custom template')
    .action(async (o: { verbose?: boolean; format?: string }) =>
      withDaemonEngine(ctx, async (w) => {
        const img = imageDiskUsage(w.images);
        const ctrs = [];
        for (const c of await w.containers.list())
          ctrs.push({ c, size: (await w.containers.size(c.id).catch(() => ({ rw: 0, rootFs: 0 }))).rw });
        const ctrSize = ctrs.reduce((a, x) => a + x.size, 0);
        const ctrReclaim = ctrs.filter((x) => !x.c.running).reduce((a, x) => a + x.size, 0);
        const vols = [];
        for (const v of w.volumes.list())
          vols.push({ v, links: w.volumes.users(v.name).length, size: await w.volumes.size(v.name) });
        const volSize = vols.reduce((a, x) => a + x.size, 0);
        const volReclaim = vols.filter((x) => x.links === 0).reduce((a, x) => a + x.size, 0);
        const bc = await new (await buildModule()).Builder(w).diskUsage();
        const bcLayers = bc.size - bc.cacheMounts.size;
        const summary = [
          // Layers only build-cache step images hold are counted once, under Build Cache, not under Images too.
          {
            Type: 'Images',
            TotalCount: String(new Set(listImages(w.images).map((r) => r.id)).size), // as `images` lists them: no build-step intermediates
            Active: String(img.active),
            Size: humanSize(img.layersSize - bcLayers),
            Reclaimable: reclaimableText(Math.max(0, img.reclaimable - bcLayers), img.layersSize - bcLayers),
          },
          {
            Type: 'Containers',
            TotalCount: String(ctrs.length),
            Active: String(ctrs.filter((x) => x.c.running).length),
            Size: humanSize(ctrSize),
            Reclaimable: reclaimableText(ctrReclaim, ctrSize),
          },
          {
            Type: 'Local Volumes',
            TotalCount: String(vols.length),
            Active: String(vols.filter((x) => x.links > 0).length),
            Size: humanSize(volSize),
            Reclaimable: reclaimableText(volReclaim, volSize),
          },
          {
            Type: 'Build Cache',
            TotalCount: String(bc.entries + bc.cacheMounts.count),
            Active: String(bc.active),
            Size: humanSize(bc.size),
            Reclaimable: humanSize(bc.reclaimable),
          },
        ];
        if (!o.verbose) {
          ctx.stdout.write(
            renderList(
              summary,
              o.format,
              '{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
              {
                TotalCount: 'TOTAL',
              },
              ROW_TYPES.diskUsage,
            ),
          );
          return;
        }
        ctx.stdout.write('Images space usage:\n\n');
        ctx.stdout.write(
          renderTable([
            ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
            ...img.images.map((r) => [
              r.repository,
              r.tag,
              shortId(r.id),
              r.created ? timeAgo(r.created) : 'N/A',
              humanSize(r.size),
              humanSize(r.sharedSize),
              humanSize(r.uniqueSize),
              String(r.containers),
            ]),
          ]),
        );
        ctx.stdout.write('\nContainers space usage:\n\n');
        ctx.stdout.write(
          renderTable([
            ['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'],
            ...ctrs.map(({ c, size }) => [
              shortId(c.id),
              c.imageName,
              commandText(c, true),
              String(c.mounts.filter((m) => m.Type === 'volume').length),
              humanSize(size),
              timeAgo(c.created),
              statusText(c),
              c.name,
            ]),
          ]),
        );
        ctx.stdout.write('\nLocal Volumes space usage:\n\n');
        ctx.stdout.write(
          renderTable([
            ['VOLUME NAME', 'LINKS', 'SIZE'],
            ...vols.map((x) => [x.v.name, String(x.links), humanSize(x.size)]),
          ]),
        );
        ctx.stdout.write(`\nBuild cache usage: ${humanSize(bc.size)}\n\n`);
        ctx.stdout.write(renderTable([['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED']]));
      }),
    );

  system
    .command('restore')
    .description('Start the containers whose restart policy brings them back after a reboot (run it at boot)')
    .action(async () =>
      withEngine(ctx, async (w) => {
        const r = await w.tasks.restore();
        for (const id of r.started) ctx.stdout.write(`${id}\n`);
        for (const f of r.failed) ctx.stderr.write(`Error: starting ${shortId(f.id)}: ${f.error}\n`);
        if (r.failed.length) ctx.setExitCode(1);
      }),
    );

  system
    .command('check')
    .description('Verify every blob and the metadata against the disk; report orphans and missing pieces')
    .option('--repair', 'Remove orphans and leftovers of interrupted work')
    .action(async (o: { repair?: boolean }) =>
      withEngine(ctx, async (w) => {
        const r = await w.check({ repair: o.repair ?? false });
        for (const p of r.problems) ctx.stdout.write(`${p.kind}: ${p.what}${p.repaired ? ' (repaired)' : ''}\n`);
        const unrepaired = r.problems.filter((p) => !p.repaired);
        ctx.stdout.write(
          `checked ${r.blobsChecked} blobs, ${r.layersChecked} layers, ${r.imagesChecked} images: ` +
            (r.problems.length === 0
              ? 'no problems\n'
              : `${r.problems.length} problem(s), ${unrepaired.length} left\n`),
        );
        if (unrepaired.length) ctx.setExitCode(1);
      }),
    );
}
