import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import {
  eventMatches,
  eventTemplateData,
  followEvents,
  formatEventLine,
  parseEventFilters,
  readEvents,
  type EventFilters,
  type WharfEvent,
} from '../../events/index.js';
import { parseDockerTime } from '../../util/index.js';
import { compileTemplate, templateWords } from '../format.js';
import { ROW_TYPES } from '../row-types.js';
import type { CliContext } from '../context.js';
import { filterFlag } from '../flag-values.js';
import { systemGroup } from './system-group.js';

interface EventsFlags {
  since?: string;
  until?: string;
  filter: string[];
  format?: string;
}

/** Docker's form of a parsed time in its error messages: seconds and nine fraction digits. */
const secondsText = (ns: bigint): string => `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;

/** One event as `--format` wants it: Docker's default line, `json` (`{{json .}}`), or a Go template. */
function eventPrinter(format: string | undefined): (e: WharfEvent) => string {
  const f = format?.trim();
  if (!f) return (e) => formatEventLine(e);
  // docker parses the template and runs it on an empty event first: what fails is "Error parsing format: …", exit 64.
  const tmpl = templateWords(
    'Error parsing format: ',
    () => compileTemplate(f === 'json' ? '{{json .}}' : f, { rowType: ROW_TYPES.event }),
    64,
  );
  templateWords('Error parsing format: ', () => tmpl.render({}), 64);
  return (e) => `${tmpl.render(eventTemplateData(e))}\n`;
}

/**
 * `events`: the root's event log (every Wharf process appends to it), filtered as Docker filters. Without
 * `--since`/`--until` only new events, until interrupted; with `--since` the past ones first; with `--until` up
 * to that time (waiting for it when it is ahead).
 */
async function showEvents(ctx: CliContext, o: EventsFlags): Promise<void> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const since = o.since ? parseDockerTime(o.since, nowNs) : undefined;
  const until = o.until ? parseDockerTime(o.until, nowNs) : undefined;
  if (since !== undefined && until !== undefined && until < since)
    throw new WharfError(
      'INVALID_ARGUMENT',
      `\`since\` time (${secondsText(since)}) cannot be after \`until\` time (${secondsText(until)})`,
    );
  const filters: EventFilters = parseEventFilters(o.filter);
  const print = eventPrinter(o.format);
  const wanted = (e: WharfEvent): boolean =>
    (since === undefined || e.timeNano >= since) &&
    (until === undefined || e.timeNano <= until) &&
    eventMatches(filters, e);
  const root = ctx.globals().root;
  if (until !== undefined && until <= nowNs) {
    for (const e of await readEvents(root)) if (wanted(e)) await write(ctx, print(e));
    return;
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = until !== undefined ? setTimeout(stop, Number((until - nowNs) / 1_000_000n) + 1) : undefined;
  try {
    const from = since !== undefined || until !== undefined;
    for await (const e of followEvents(root, { signal: ac.signal, fromStart: from })) {
      if (until !== undefined && e.timeNano > until) break;
      if (wanted(e)) await write(ctx, print(e));
    }
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Writes with back-pressure: a follower that prints into a slow pipe waits rather than buffering the log. */
function write(ctx: CliContext, text: string): Promise<void> | undefined {
  if (ctx.stdout.write(text)) return undefined;
  return new Promise((resolve) => ctx.stdout.once('drain', resolve));
}

function addEventsCommand(parent: Command, ctx: CliContext): void {
  parent
    .command('events')
    .description('Get real time events (of every Wharf process and container of the root)')
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', filterFlag, [])
    .option(
      '--format <string>',
      "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template",
    )
    .action((o: EventsFlags) => showEvents(ctx, o));
}

/** `events` and `system events`. */
export function register(program: Command, ctx: CliContext): void {
  addEventsCommand(program, ctx);
  addEventsCommand(systemGroup(program), ctx);
}
