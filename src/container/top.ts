import { WharfError } from '../errors/index.js';
import { run } from '../util/index.js';
import type { TaskService } from './tasks.js';

/**
 * `top`: the host's `ps` (default `-ef`, as dockerd's) cut to the container's processes, as Docker's
 * ContainerTopOKBody: column titles and one row of fields per process (the last column keeps its spaces).
 */
export async function containerTop(
  tasks: TaskService,
  idOrName: string,
  psArgs: readonly string[] = [],
): Promise<{ Titles: string[]; Processes: string[][] }> {
  const pids = new Set((await tasks.pids(idOrName)).map(String));
  const args = psArgs.length ? [...psArgs] : ['-ef'];
  const out = (await run('ps', args)).stdout.split('\n').filter((l) => l.trim() !== '');
  const header = out[0]!.trim().split(/\s+/);
  const pidCol = header.indexOf('PID');
  if (pidCol < 0) throw new WharfError('INVALID_ARGUMENT', `Couldn't find PID field in ps output`);
  const rows: string[][] = [];
  for (const line of out.slice(1)) {
    const f = line.trim().split(/\s+/);
    if (!pids.has(f[pidCol]!)) continue;
    rows.push([...f.slice(0, header.length - 1), f.slice(header.length - 1).join(' ')]);
  }
  return { Titles: header, Processes: rows };
}
