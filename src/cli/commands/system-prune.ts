import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { humanSize, parsePruneFilter, prunable } from '../../util/index.js';
import type { CliContext } from '../context.js';
import { withDaemonEngine, confirm } from '../engine.js';
import { filterFlag } from '../flag-values.js';
import { buildModule } from './build.js';
import { systemGroup } from './system-group.js';

export { parsePruneFilter, prunable } from '../../util/index.js';

/** Docker's warning (docker/cli system prune's confirmationTemplate) for these flags. */
export function pruneWarning(o: { all?: boolean; volumes?: boolean }): string {
  const items = ['all stopped containers', 'all networks not used by at least one container'];
  if (o.volumes) items.push('all anonymous volumes not used by at least one container');
  items.push(o.all ? 'all images without at least one container associated to them' : 'all dangling images');
  items.push(o.all ? 'all build cache' : 'unused build cache');
  return `WARNING! This will remove:\n${items.map((i) => `  - ${i}`).join('\n')}\n`;
}

/**
 * `system prune`: the container, network, volume, image and build-cache prunes (the services' own), in Docker's order and
 * with each one's report, then the total.
 */
export function register(program: Command, ctx: CliContext): void {
  systemGroup(program)
    .command('prune')
    .description('Remove unused data')
    .option('-a, --all', 'Remove all unused images not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', filterFlag, [])
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--volumes', 'Prune anonymous volumes')
    .action(async (o: { all?: boolean; filter: string[]; force?: boolean; volumes?: boolean }) => {
      const f = parsePruneFilter(o.filter);
      if (o.volumes && f.until !== undefined)
        throw new WharfError('INVALID_ARGUMENT', 'ERROR: The "until" filter is not supported with "--volumes"');
      if (!o.force && !(await confirm(ctx, pruneWarning(o)))) return;
      await withDaemonEngine(ctx, async (w) => {
        let total = 0;
        const section = (title: string, lines: readonly string[]) => {
          if (lines.length > 0) ctx.stdout.write(`${title}:\n${lines.map((l) => `${l}\n`).join('')}\n`);
        };
        const ctrs = await w.containers.prune((c) => prunable(f, c.created, c.config.Labels ?? {}));
        section('Deleted Containers', ctrs.deleted);
        total += ctrs.reclaimed;
        section('Deleted Networks', await w.networks.prune((n) => prunable(f, n.created, n.record?.labels ?? {})));
        if (o.volumes) {
          // Anonymous volumes only, even with -a (as Docker's system prune since API 1.42).
          const vols = await w.volumes.prune({ filter: (v) => prunable(f, undefined, v.labels) });
          section('Deleted Volumes', vols.deleted);
          total += vols.reclaimed;
        }
        const imgs = await w.images.prune({
          all: o.all === true,
          filter: (img) => prunable(f, img.created ?? img.addedAt, img.labels),
        });
        section(
          'Deleted Images',
          imgs.events.map((e) => ('Untagged' in e ? `untagged: ${e.Untagged}` : `deleted: ${e.Deleted}`)),
        );
        total += imgs.reclaimed;
        const { Builder } = await buildModule();
        const cache = await new Builder(w).prune();
        section('Deleted build cache objects', cache.deleted);
        total += cache.reclaimed;
        ctx.stdout.write(`Total reclaimed space: ${humanSize(total)}\n`);
      });
    });
}
