import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { unknownVolumeDriver, volumeFilters, volumeInspect, type VolumeRecord } from '../../container/index.js';
import { markDaemonSide } from '../errors.js';
import type { Wharf } from '../../engine/index.js';
import { humanSize } from '../../util/index.js';
import { renderList } from '../format.js';
import { ROW_TYPES } from '../row-types.js';
import type { CliContext } from '../context.js';
import { collect, confirm, engineErrorLine, withDaemonEngine } from '../engine.js';
import { filterFlag } from '../flag-values.js';
import { writeInspect } from './container-info.js';

/** Docker's `volume inspect` shape (the library's volumeInspect). */
export function inspectVolume(w: Wharf, v: VolumeRecord): Record<string, unknown> {
  return volumeInspect(w.volumes, v);
}

function labelsOf(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

function volumeFilter(w: Wharf, specs: string[]): (v: VolumeRecord) => boolean {
  return volumeFilters(w.volumes, specs);
}

/** `volume create|ls|inspect|rm|prune`. */
export function register(program: Command, ctx: CliContext): void {
  const volume = program.command('volume').description('Manage volumes');

  volume
    .command('create')
    .description('Create a volume')
    .argument('[VOLUME]')
    .option('--name <string>', 'Specify volume name')
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--label <list>', 'Set metadata for a volume', collect, [])
    .option('-o, --opt <map>', 'Set driver specific options', collect, [])
    .action(async (name: string | undefined, o: { name?: string; driver: string; label: string[]; opt: string[] }) =>
      withDaemonEngine(ctx, async (w) => {
        if (o.driver !== 'local') throw markDaemonSide(unknownVolumeDriver(o.driver, o.name ?? name));
        if (name && o.name && name !== o.name)
          throw new WharfError(
            'INVALID_ARGUMENT',
            'conflicting options: cannot specify a volume-name through both --name and as a positional arg',
          );
        const v = await w.volumes.create({
          ...((name ?? o.name) ? { name: (name ?? o.name)! } : {}),
          labels: labelsOf(o.label),
          // The CLI's MapOpts: `k=v`, a bare `k` is k with an empty value (then refused by the driver's check).
          options: labelsOf(o.opt),
        });
        ctx.stdout.write(`${v.name}\n`);
      }),
    );

  volume
    .command('ls')
    .alias('list')
    .description('List volumes')
    .option('-q, --quiet', 'Only display volume names')
    .option('-f, --filter <filter>', 'Provide filter values (e.g. dangling=true)', filterFlag, [])
    .option('--format <string>', 'Pretty-print volumes using a Go template')
    .action(async (o: { quiet?: boolean; filter: string[]; format?: string }) =>
      withDaemonEngine(ctx, async (w) => {
        const keep = volumeFilter(w, o.filter);
        const list = w.volumes.list().filter(keep);
        if (o.quiet) {
          for (const v of list) ctx.stdout.write(`${v.name}\n`);
          return;
        }
        // As docker's volumeContext: no usage data in a list (Links, Size N/A), no cluster volume (Group…).
        const rows = list.map((v) => ({
          Availability: 'N/A',
          Driver: 'local',
          Group: 'N/A',
          Name: v.name,
          Mountpoint: w.volumes.dataDir(v.name),
          Scope: 'local',
          Labels: Object.entries(v.labels)
            .map(([k, x]) => `${k}=${x}`)
            .join(','),
          Label: (key: unknown) => v.labels[String(key)] ?? '',
          Links: 'N/A',
          Size: 'N/A',
          Status: 'N/A',
        }));
        ctx.stdout.write(
          renderList(rows, o.format, '{{.Driver}}\t{{.Name}}', { Name: 'VOLUME NAME' }, ROW_TYPES.volume),
        );
      }),
    );

  volume
    .command('inspect')
    .description('Display detailed information on one or more volumes')
    .argument('<VOLUME...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (names: string[], o: { format?: string }) =>
      withDaemonEngine(ctx, async (w) => {
        const out: unknown[] = [];
        for (const n of names) {
          const v = w.volumes.get(n);
          if (!v) {
            ctx.stderr.write(`Error response from daemon: get ${n}: no such volume\n`);
            ctx.setExitCode(1);
            continue;
          }
          out.push(inspectVolume(w, v));
        }
        writeInspect(ctx, out, o.format);
      }),
    );

  volume
    .command('rm')
    .alias('remove')
    .description('Remove one or more volumes')
    .argument('<VOLUME...>')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action(async (names: string[], o: { force?: boolean }) =>
      withDaemonEngine(ctx, async (w) => {
        for (const n of names) {
          try {
            await w.volumes.remove(n, { force: o.force === true });
            ctx.stdout.write(`${n}\n`);
          } catch (err) {
            ctx.stderr.write(`${engineErrorLine(ctx, err)}\n`);
            ctx.setExitCode(1);
          }
        }
      }),
    );

  volume
    .command('prune')
    .description('Remove unused local volumes')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. label=<label>)', filterFlag, [])
    .action(async (o: { all?: boolean; force?: boolean; filter: string[] }) =>
      withDaemonEngine(ctx, async (w) => {
        if (
          !o.force &&
          !(await confirm(ctx, 'WARNING! This will remove anonymous local volumes not used by at least one container.'))
        )
          return;
        const { deleted, reclaimed } = await w.volumes.prune({
          all: o.all === true,
          filter: volumeFilter(w, o.filter),
        });
        if (deleted.length) ctx.stdout.write(`Deleted Volumes:\n${deleted.map((d) => d + '\n').join('')}\n`);
        ctx.stdout.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
      }),
    );
}
