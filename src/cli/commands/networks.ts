import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { inspectNetwork, networkFilter } from '../../engine/index.js';
import type { NetworkView } from '../../network/index.js';
import { parsePruneFilter, prunable } from '../../util/index.js';
import { renderList } from '../format.js';
import { ROW_TYPES } from '../row-types.js';
import type { CliContext } from '../context.js';
import { collect, confirm, diskFullError, withDaemonEngine, goTimeString } from '../engine.js';
import { filterFlag } from '../flag-values.js';
import { writeInspect } from './container-info.js';

function keyValues(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

/** dockerd's errors as the docker CLI prints them (exit 1): "Error response from daemon: …". */
async function fromDaemon(ctx: CliContext, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof WharfError)) throw err;
    ctx.stderr.write(`Error response from daemon: ${err.message}\n`);
    ctx.setExitCode(1);
  }
}

/** `network create|ls|inspect|rm|prune|connect|disconnect`. */
export function register(program: Command, ctx: CliContext): void {
  const network = program.command('network').description('Manage networks');

  network
    .command('create')
    .description('Create a network')
    .argument('<NETWORK>')
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('--subnet <strings>', 'Subnet in CIDR format that represents a network segment', collect, [])
    .option('--gateway <strings>', 'IPv4 or IPv6 Gateway for the master subnet', collect, [])
    .option('--ip-range <strings>', 'Allocate container ip from a sub-range', collect, [])
    .option('--ipv6', 'Enable or disable IPv6 networking')
    .option('--internal', 'Restrict external access to the network')
    .option('--attachable', 'Enable manual container attachment')
    .option('--label <list>', 'Set metadata on a network', collect, [])
    .option('-o, --opt <map>', 'Set driver specific options', collect, [])
    .action(
      async (
        name: string,
        o: {
          driver: string;
          subnet: string[];
          gateway: string[];
          ipRange: string[];
          ipv6?: boolean;
          internal?: boolean;
          attachable?: boolean;
          label: string[];
          opt: string[];
        },
      ) =>
        withDaemonEngine(ctx, async (w) =>
          fromDaemon(ctx, async () => {
            const rec = await w.networks.create({
              name,
              driver: o.driver,
              subnets: o.subnet,
              gateways: o.gateway,
              ipRanges: o.ipRange,
              ipv6: o.ipv6 === true,
              internal: o.internal === true,
              attachable: o.attachable === true,
              labels: keyValues(o.label),
              options: keyValues(o.opt),
            });
            ctx.stdout.write(`${rec.id}\n`);
          }),
        ),
    );

  network
    .command('ls')
    .alias('list')
    .description('List networks')
    .option('-q, --quiet', 'Only display network IDs')
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', filterFlag, [])
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', 'Do not truncate the output')
    .action(async (o: { quiet?: boolean; filter: string[]; format?: string; trunc: boolean }) =>
      withDaemonEngine(ctx, async (w) => {
        const keep = networkFilter(w, o.filter);
        // The docker CLI sorts by name.
        const list = w.networks
          .list()
          .filter(keep)
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        const id = (n: NetworkView): string => (o.trunc ? n.id.slice(0, 12) : n.id);
        if (o.quiet) {
          for (const n of list) ctx.stdout.write(`${id(n)}\n`);
          return;
        }
        const rows = list.map((n) => ({
          ID: id(n),
          Name: n.name,
          Driver: n.driver,
          Scope: 'local',
          IPv4: String(n.driver === 'bridge'), // dockerd 28's EnableIPv4: its bridges, not host or none
          IPv6: String(n.record?.ipv6 !== undefined),
          Internal: String(n.record?.internal ?? false),
          Labels: Object.entries(n.record?.labels ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
          Label: (key: unknown) => n.record?.labels?.[String(key)] ?? '',
          CreatedAt: goTimeString(new Date(n.created), true),
        }));
        ctx.stdout.write(
          renderList(
            rows,
            o.format,
            '{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
            { ID: 'NETWORK ID' },
            ROW_TYPES.network,
          ),
        );
      }),
    );

  network
    .command('inspect')
    .description('Display detailed information on one or more networks')
    .argument('<NETWORK...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics')
    .action(async (names: string[], o: { format?: string }) =>
      withDaemonEngine(ctx, async (w) => {
        const out: unknown[] = [];
        for (const n of names) {
          const v = w.networks.get(n);
          if (!v) {
            ctx.stderr.write(`Error response from daemon: network ${n} not found\n`);
            ctx.setExitCode(1);
            continue;
          }
          out.push(await inspectNetwork(w, v));
        }
        writeInspect(ctx, out, o.format);
      }),
    );

  network
    .command('rm')
    .alias('remove')
    .description('Remove one or more networks')
    .argument('<NETWORK...>')
    .option('-f, --force', 'Do not error if the network does not exist')
    .action(async (names: string[], o: { force?: boolean }) =>
      withDaemonEngine(ctx, async (w) => {
        for (const n of names) {
          try {
            await w.networks.remove(n);
            ctx.stdout.write(`${n}\n`);
          } catch (err) {
            if (o.force && (err as WharfError).code === 'NOT_FOUND') continue;
            const shown = (diskFullError(err, ctx.globals().root) ?? err) as Error;
            ctx.stderr.write(`Error response from daemon: ${shown.message}\n`);
            ctx.setExitCode(1);
          }
        }
      }),
    );

  network
    .command('prune')
    .description('Remove all unused networks')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', filterFlag, [])
    .action(async (o: { force?: boolean; filter: string[] }) =>
      withDaemonEngine(ctx, async (w) => {
        parsePruneFilter(o.filter); // a bad filter fails before the prompt, as docker's
        if (
          !o.force &&
          !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.'))
        )
          return;
        const f = parsePruneFilter(o.filter);
        const deleted = await w.networks.prune((n) => prunable(f, n.created, n.record?.labels ?? {}));
        if (deleted.length) ctx.stdout.write(`Deleted Networks:\n${deleted.map((d) => `${d}\n`).join('')}`);
      }),
    );

  network
    .command('connect')
    .description('Connect a container to a network')
    .argument('<NETWORK>')
    .argument('<CONTAINER>')
    .option('--alias <strings>', 'Add network-scoped alias for the container', collect, [])
    .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <string>', 'IPv6 address (e.g., "2001:db8::33")')
    .option('--link <list>', 'Add link to another container', collect, [])
    .option('--driver-opt <strings>', 'driver options for the network', collect, [])
    .action(async (net: string, container: string, o: { alias: string[]; ip?: string; ip6?: string }) =>
      withDaemonEngine(ctx, (w) =>
        fromDaemon(ctx, () =>
          w.containerNetworks.connect(container, net, {
            aliases: o.alias,
            ...(o.ip ? { ipv4Address: o.ip } : {}),
            ...(o.ip6 ? { ipv6Address: o.ip6 } : {}),
          }),
        ),
      ),
    );

  network
    .command('disconnect')
    .description('Disconnect a container from a network')
    .argument('<NETWORK>')
    .argument('<CONTAINER>')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action(async (net: string, container: string, o: { force?: boolean }) =>
      withDaemonEngine(ctx, (w) =>
        fromDaemon(ctx, () => w.containerNetworks.disconnect(container, net, { force: o.force === true })),
      ),
    );
}
