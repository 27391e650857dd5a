import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Wharf } from '../../engine/index.js';
import type { StatsSample } from '../../runtime/index.js';
import type { CliContext } from '../context.js';
import { withDaemonEngine } from '../engine.js';
import { ROW_TYPES } from '../row-types.js';
import { renderList } from '../format.js';
import { STATS_HEADERS, STATS_TABLE, statsRow, type StatsRow } from '../stats-format.js';
import { containerGroup } from './container-shared.js';

interface StatsFlags {
  all?: boolean;
  format?: string;
  noStream?: boolean;
  noTrunc?: boolean;
}

/** dockerd samples every second; CPU % is the change over that interval. */
const INTERVAL_MS = 1000;

/**
 * docker CLI 28's bytes for one streamed frame: cursor home and the table, then the same text again line by line,
 * each line ended by " ESC[K" (erase the rest of a longer old line), then ESC[J (erase rows of containers gone).
 */
export function redraw(table: string): string {
  const text = `\x1b[H${table}`;
  return `${text}${text
    .split('\n')
    .map((l) => `${l} \x1b[K\n`)
    .join('')}\x1b[J`;
}

/** The containers of one frame: those named (as given), else the running ones (every one with `-a`). */
async function targets(w: Wharf, names: string[], all: boolean): Promise<Array<{ id: string; shown: string }>> {
  if (names.length) return names.map((n) => ({ id: w.containers.resolve(n).id, shown: n }));
  const list = await w.containers.list();
  return list
    .filter((c) => all || c.running)
    .sort((a, b) => (a.created < b.created ? 1 : -1))
    .map((c) => ({ id: c.id, shown: c.id.slice(0, 12) }));
}

function statsVerb(parent: Command, ctx: CliContext): void {
  parent
    .command('stats')
    .description('Display a live stream of container(s) resource usage statistics')
    .argument('[CONTAINER...]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-stream', 'Disable streaming stats and only pull the first result')
    .option('--no-trunc', 'Do not truncate output')
    .action(async (names: string[], o: StatsFlags) =>
      withDaemonEngine(ctx, async (w) => {
        // commander's --no-x options default x to true: stream unless --no-stream; truncate unless --no-trunc.
        const stream = (o as { stream?: boolean }).stream !== false && o.noStream !== true;
        const noTrunc = (o as { trunc?: boolean }).trunc === false || o.noTrunc === true;
        const failed = new Set<string>();
        const prev = new Map<string, StatsSample>();
        const sampleAll = async (list: Array<{ id: string; shown: string }>) => {
          const out: Array<{ c: { id: string; name: string }; shown: string; sample?: StatsSample }> = [];
          for (const t of list) {
            try {
              const { container, sample } = await w.containers.stats(t.id);
              out.push({ c: container, shown: t.shown, ...(sample ? { sample } : {}) });
            } catch (err) {
              if (!failed.has(t.shown)) ctx.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
              failed.add(t.shown);
            }
          }
          return out;
        };
        const frame = async (list: Array<{ id: string; shown: string }>): Promise<string> => {
          const rows: StatsRow[] = [];
          for (const s of await sampleAll(list)) {
            rows.push(statsRow(s.c, s.shown, prev.get(s.c.id), s.sample, noTrunc));
            if (s.sample) prev.set(s.c.id, s.sample);
            else prev.delete(s.c.id);
          }
          return renderList(rows, o.format, STATS_TABLE, STATS_HEADERS, ROW_TYPES.stats);
        };
        let list: Array<{ id: string; shown: string }>;
        try {
          list = await targets(w, names, o.all === true);
        } catch (err) {
          ctx.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
          ctx.setExitCode(1);
          return;
        }
        // The first figures need a previous sample, as dockerd's first result carries one from a second before.
        await sampleAll(list).then((s) => {
          for (const x of s) if (x.sample) prev.set(x.c.id, x.sample);
        });
        let stopped = false;
        const stop = () => {
          stopped = true;
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await sleep(INTERVAL_MS);
          if (!stream) {
            ctx.stdout.write(await frame(list));
            if (failed.size) ctx.setExitCode(1);
            return;
          }
          while (!stopped) {
            if (!names.length) list = await targets(w, names, o.all === true);
            ctx.stdout.write(redraw(await frame(list)));
            if (names.length && failed.size === names.length) break;
            await sleep(INTERVAL_MS);
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
        if (failed.size) ctx.setExitCode(1);
      }),
    );
}

/** `stats` and `container stats`. */
export function register(program: Command, ctx: CliContext): void {
  statsVerb(program, ctx);
  statsVerb(containerGroup(program), ctx);
}
