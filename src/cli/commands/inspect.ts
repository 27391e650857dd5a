import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { inspectImage } from '../../image/index.js';
import { compileTemplate, goJson } from '../format.js';
import type { CliContext } from '../context.js';
import { withEngine } from '../engine.js';

/** `inspect NAME|ID…`: low-level information on Wharf objects (images now; containers once they exist). */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('inspect')
    .description('Return low-level information on Wharf objects')
    .argument('<NAME|ID...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('--type <string>', 'Only inspect objects of the given type (image)')
    .action(async (names: string[], o: { format?: string; type?: string }) =>
      withEngine(ctx, async (w) => {
        if (o.type && o.type !== 'image') throw new WharfError('INVALID_ARGUMENT', `"${o.type}" is not a valid value for --type`);
        const out: unknown[] = [];
        for (const n of names) {
          const img = w.images.tryResolve(n);
          if (!img) {
            ctx.stderr.write(`Error: No such object: ${n}\n`);
            ctx.setExitCode(1);
            continue;
          }
          out.push(await inspectImage(w.images, img));
        }
        if (o.format) {
          const t = compileTemplate(o.format === 'json' ? '{{json .}}' : o.format);
          for (const x of out) ctx.stdout.write(t.render(x) + '\n');
        } else ctx.stdout.write(goJson(out, '    ') + '\n');
      }),
    );
}
