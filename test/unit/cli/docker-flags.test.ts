import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerVerbs } from '../../../src/cli/commands/index.js';
import type { CliContext } from '../../../src/cli/context.js';
import { resolveCommand } from '../../../src/cli/command-tree.js';
import { commandHelp, findCommand } from '../../../src/cli/help.js';
import { type DockerFlag, flagsOf } from '../../../scripts/docker-cli-flags.mjs';

/** docker CLI 28's flags per single-host verb (scripts/docker-cli-flags.mjs writes it from `docker VERB --help`). */
const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/docker-cli-28-flags.json', import.meta.url), 'utf8'),
) as { verbs: Record<string, DockerFlag[]> };

/**
 * What `wharf VERB --help` does not list yet, by verb: `'*'` for a verb Wharf does not have, else docker's long flag
 * names. Other branches of issue 12 are adding these; the lead deletes entries as they merge. A NOT_YET entry that
 * Wharf does list fails the test, so this cannot go stale.
 */
const NOT_YET: Record<string, '*' | readonly string[]> = {};

const ctx: CliContext = {
  globals: () => ({ root: '/nonexistent', runRoot: '/nonexistent/run', logLevel: 'warn' }),
  stdout: process.stdout,
  stderr: process.stderr,
  setExitCode: () => {},
};

/** `wharf VERB --help`'s flags, as the script reads docker's: undefined when Wharf has no such verb. */
async function wharfFlags(verb: string): Promise<DockerFlag[] | undefined> {
  const program = new Command('wharf').enablePositionalOptions();
  const resolved = resolveCommand(verb.split(' '));
  await registerVerbs(program, ctx, resolved.verb);
  let cmd = program as Command | undefined;
  for (const w of resolved.argv) cmd = cmd && (findCommand(cmd, w) as Command | undefined);
  return cmd ? flagsOf(commandHelp(resolved.path, cmd, 200)) : undefined;
}

/** A docker flag is there when Wharf lists its long name with the same one-letter form. */
const listed = (have: DockerFlag[], f: DockerFlag): boolean =>
  have.some((h) => h.long === f.long && h.short === f.short);

test("wharf VERB --help lists every flag docker CLI 28 lists for the verb, except NOT_YET's", async () => {
  let accepted = 0;
  let total = 0;
  const problems: string[] = [];
  for (const [verb, flags] of Object.entries(fixture.verbs)) {
    total += flags.length;
    const have = await wharfFlags(verb);
    const notYet = NOT_YET[verb];
    if (!have) {
      if (notYet !== '*') problems.push(`${verb}: no such verb, and NOT_YET does not say so`);
      continue;
    }
    if (notYet === '*') problems.push(`${verb}: exists now; replace its '*' in NOT_YET with its missing flags`);
    const missing = new Set(notYet === '*' ? [] : (notYet ?? []));
    for (const f of flags) {
      if (listed(have, f)) {
        accepted++;
        if (missing.has(f.long)) problems.push(`${verb} --${f.long}: listed now; delete it from NOT_YET`);
      } else if (!missing.has(f.long)) {
        problems.push(`${verb} ${f.short ? `-${f.short}, ` : ''}--${f.long}: not listed by wharf ${verb} --help`);
      }
    }
    for (const m of missing) {
      if (!flags.some((f) => f.long === m)) problems.push(`${verb} --${m}: in NOT_YET but not a docker flag`);
    }
  }
  assert.deepEqual(problems, []);
  // The count the issue tracks (how many of docker's flags Wharf accepts), printed for the record.
  process.stdout.write(`# wharf lists ${accepted} of docker CLI 28's ${total} flags of these verbs\n`);
});
