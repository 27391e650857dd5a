import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { inspectImage, type ImageRecord } from '../../image/index.js';
import type { CliContext } from '../context.js';
import { withReadEngine } from '../engine.js';
import { writeInspect } from './container-info.js';

/** `inspect NAME|ID…`: low-level information on Wharf objects: containers first, then images (as Docker). */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('inspect')
    .description('Return low-level information on Wharf objects')
    .argument('<NAME|ID...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('--type <string>', 'Only inspect objects of the given type (container, image, volume)')
    .option('-s, --size', 'Display total file sizes if the type is container')
    .action(async (names: string[], o: { format?: string; type?: string; size?: boolean }) =>
      withReadEngine(ctx, async (w) => {
        if (o.type && !['image', 'container', 'volume'].includes(o.type))
          throw new WharfError('INVALID_ARGUMENT', `"${o.type}" is not a valid value for --type`);
        const out: unknown[] = [];
        for (const n of names) {
          if (!o.type || o.type === 'container') {
            const c = w.containers.tryResolve(n);
            if (c) {
              out.push(await w.containers.inspect(c.id, { size: o.size === true }));
              continue;
            }
          }
          let img: ImageRecord | undefined;
          if (!o.type || o.type === 'image') {
            try {
              img = w.images.tryResolve(n);
            } catch (err) {
              if (o.type === 'image') throw err;
            }
          }
          if (!img && (!o.type || o.type === 'volume')) {
            const v = w.volumes.get(n);
            if (v) {
              const { inspectVolume } = await import('./volumes.js');
              out.push(inspectVolume(w, v));
              continue;
            }
          }
          if (!img) {
            ctx.stderr.write(`Error: No such object: ${n}\n`);
            ctx.setExitCode(1);
            continue;
          }
          out.push(await inspectImage(w.images, img.id));
        }
        writeInspect(ctx, out, o.format);
      }),
    );
}
