import type { Command } from 'commander';
import type * as Readline from 'node:readline';
import { WharfError, is, invalidFilter } from '../../errors/index.js';
import { parseNormalizedNamed, repositoryName } from '../../reference/index.js';
import {
  CredentialStore,
  RegistryClient,
  defaultCredentialFiles,
  registryFromServerArg,
  searchTarget,
  type Credentials,
  type RemoteOptions,
} from '../../remote/index.js';
import type { TransferEvent } from '../../transfer/index.js';
import { renderList } from '../format.js';
import type { CliContext } from '../context.js';
import { markDaemonSide, withErrorPrefix } from '../errors.js';
import { intFlag } from '../resource-flags.js';
import { withDaemonEngine, withEngine } from '../engine.js';
import { filterFlag } from '../flag-values.js';
import { requirePlatform } from './image-platform.js';
import { ellipsis, humanSize, lazyBuiltin } from '../../util/index.js';
import type { Writable } from 'node:stream';

const readline = lazyBuiltin<typeof Readline>('node:readline');

export interface NetworkFlags {
  insecure?: boolean;
  tlsVerify?: boolean | string;
}

function tlsVerifyOff(o: NetworkFlags): boolean {
  return o.tlsVerify === false || o.tlsVerify === 'false' || o.tlsVerify === '0';
}

/**
 * Registry access options for one call, from the flags and the environment (the library reads none): credentials
 * files (WHARF_CONFIG, DOCKER_CONFIG), insecure registries (the flags and WHARF_INSECURE_REGISTRIES), extra CA
 * certificates (WHARF_EXTRA_CA_CERTS, where bin/wharf moves NODE_EXTRA_CA_CERTS).
 */
export function remoteOptionsFor(domain: string, o: NetworkFlags, env: NodeJS.ProcessEnv = process.env): RemoteOptions {
  const insecure = (env.WHARF_INSECURE_REGISTRIES ?? '').split(/[,\s]+/).filter((s) => s !== '');
  // Like podman's --tls-verify=false, either flag lets this registry use plain HTTP or an unverified certificate.
  if (o.insecure || tlsVerifyOff(o)) insecure.push(domain);
  return {
    credentials: new CredentialStore(defaultCredentialFiles(env)),
    insecureRegistries: insecure,
    ...(env.WHARF_EXTRA_CA_CERTS ? { caFile: env.WHARF_EXTRA_CA_CERTS } : {}),
    ...(tlsVerifyOff(o) ? { tlsVerify: false } : {}),
  };
}

// Statuses that only report bytes moving; without a terminal Docker leaves them out.
const NOISY = new Set(['Downloading', 'Pushing', 'Extracting']);

/** Docker's `[=====>     ]  1.2MB/2.5MB`. */
function bar(current: number, total: number): string {
  const width = 50;
  const done = Math.max(0, Math.min(width, Math.floor((current / total) * width)));
  const drawn = done < width ? `${'='.repeat(done)}>${' '.repeat(width - done - 1)}` : '='.repeat(width);
  return `[${drawn}] ${humanSize(current)}/${humanSize(total)}`;
}

/**
 * Renders pull/push progress as Docker's CLI does: on a terminal, one line per layer rewritten in place with a
 * progress bar; otherwise one line per status change.
 */
export function progressPrinter(out: Writable, opts: { quiet: boolean; tty: boolean }): (e: TransferEvent) => void {
  if (opts.quiet) return () => {};
  if (!opts.tty) {
    return (e) => {
      if (e.type === 'message') out.write(e.text + '\n');
      else if (!NOISY.has(e.status)) out.write(`${e.id}: ${e.status}\n`);
    };
  }
  // Layer lines stay below the last message; an update moves the cursor up to its line and back.
  const ids: string[] = [];
  return (e) => {
    if (e.type === 'message') {
      ids.length = 0;
      out.write(e.text + '\n');
      return;
    }
    const text =
      NOISY.has(e.status) && e.current !== undefined && e.total !== undefined && e.total > 0
        ? `${e.id}: ${e.status} ${bar(e.current, e.total)}`
        : `${e.id}: ${e.status}`;
    const idx = ids.indexOf(e.id);
    if (idx < 0) {
      ids.push(e.id);
      out.write(text + '\n');
      return;
    }
    const up = ids.length - idx;
    out.write(`\x1b[${up}A\r\x1b[2K${text}\r\x1b[${up}B`);
  };
}

/** Docker's progress output: bars on a terminal, one line per status change otherwise. */
function printer(ctx: CliContext, quiet: boolean): (e: TransferEvent) => void {
  return progressPrinter(ctx.stdout, { quiet, tty: (ctx.stdout as { isTTY?: boolean }).isTTY === true });
}

function networkOptions(c: Command): Command {
  return c
    .option('--insecure', 'Allow plain HTTP and unverified TLS for this registry')
    .option('--tls-verify [bool]', 'Require HTTPS and verify certificates (--tls-verify=false is like --insecure)');
}

async function readSecretLine(ctx: CliContext, prompt: string, hidden: boolean): Promise<string> {
  ctx.stdout.write(prompt);
  const stdin = process.stdin;
  const rl = readline().createInterface({ input: stdin, terminal: false });
  const wasRaw = stdin.isTTY ? stdin.isRaw : false;
  if (hidden && stdin.isTTY) stdin.setRawMode(false);
  try {
    return await new Promise<string>((resolve) => {
      rl.once('line', (l) => resolve(l));
      rl.once('close', () => resolve(''));
    });
  } finally {
    rl.close();
    if (stdin.isTTY) stdin.setRawMode(wasRaw);
    if (hidden) ctx.stdout.write('\n');
  }
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > 1 << 20) throw new WharfError('INVALID_ARGUMENT', 'password on standard input is larger than 1 MiB');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function register(program: Command, ctx: CliContext): void {
  // `image pull` and `image push` are these verbs too (command-tree.ts).
  registerTransfer(program, ctx);
  registerAccounts(program, ctx);
}

function registerTransfer(program: Command, ctx: CliContext): void {
  networkOptions(
    program
      .command('pull')
      .description('Download an image from a registry')
      .argument('<NAME[:TAG|@DIGEST]>')
      .option('-a, --all-tags', 'Download all tagged images in the repository')
      .option('--platform <string>', 'Set platform if server is multi-platform capable')
      .option('-q, --quiet', 'Suppress verbose output')
      .option('--max-concurrent <n>', 'Layers downloaded at once', '3'),
  ).action(
    async (
      name: string,
      o: NetworkFlags & { allTags?: boolean; platform?: string; quiet?: boolean; maxConcurrent: string },
    ) =>
      withDaemonEngine(ctx, async (w) => {
        const domain = parseNormalizedNamed(name).domain;
        const results = await w.registries.pull(name, {
          remote: remoteOptionsFor(domain, o),
          onProgress: printer(ctx, o.quiet ?? false),
          concurrency: concurrencyOf(o.maxConcurrent),
          ...(o.platform ? { platform: o.platform } : {}),
          ...(o.allTags ? { allTags: true } : {}),
        });
        // The pulled reference closes `docker pull`'s output, quiet or not; the CLI prints it, not the transfer's
        // progress, because run/create/build pull through the same transfer and do not print it.
        const shown = o.allTags ? repositoryName(parseNormalizedNamed(name)) : results[0]?.reference;
        if (shown) ctx.stdout.write(shown + '\n');
      }),
  );

  networkOptions(
    program
      .command('push')
      .description('Upload an image to a registry')
      .argument('<NAME[:TAG]>')
      .option('-a, --all-tags', 'Push all tags of an image to the repository')
      .option('-q, --quiet', 'Suppress verbose output')
      .option(
        '--compression-format <gzip|zstd>',
        'Compression of layers compressed now (zstd writes an OCI manifest)',
        'gzip',
      )
      .option(
        '--compression-level <n>',
        'Level for layers compressed now: gzip 0 to 9, zstd 1 to 19 (fastest to smallest)',
        '3',
      )
      .option('--oci', 'Write an OCI image manifest instead of Docker schema 2')
      .option('--max-concurrent <n>', 'Layers uploaded at once', '5')
      .option(
        '--platform <string>',
        'Push a platform-specific manifest as a single-platform image to the registry (the image must be of that platform)',
      ),
  ).action(
    async (
      name: string,
      o: NetworkFlags & {
        platform?: string;
        allTags?: boolean;
        quiet?: boolean;
        compressionLevel: string;
        compressionFormat: string;
        oci?: boolean;
        maxConcurrent: string;
      },
    ) =>
      withEngine(ctx, async (w) => {
        const level = Number(o.compressionLevel);
        if (!/^\d{1,2}$/.test(o.compressionLevel))
          throw new WharfError(
            'INVALID_ARGUMENT',
            `invalid --compression-level ${JSON.stringify(o.compressionLevel)}: want a number (gzip 0 to 9, zstd 1 to 19)`,
          );
        if (o.compressionFormat !== 'gzip' && o.compressionFormat !== 'zstd')
          throw new WharfError(
            'INVALID_ARGUMENT',
            `invalid --compression-format ${JSON.stringify(o.compressionFormat)}: want gzip or zstd`,
          );
        const domain = parseNormalizedNamed(name).domain;
        await requirePlatform(w, name, o.platform);
        const results = await w.registries.push(name, {
          remote: remoteOptionsFor(domain, o),
          onProgress: printer(ctx, o.quiet ?? false),
          compressionLevel: level,
          compressionFormat: o.compressionFormat,
          concurrency: concurrencyOf(o.maxConcurrent),
          ...(o.allTags ? { allTags: true } : {}),
          ...(o.oci ? { format: 'oci' as const } : {}),
        });
        if (o.quiet) for (const r of results) ctx.stdout.write(r.reference + '\n');
      }),
  );
}

function registerAccounts(program: Command, ctx: CliContext): void {
  networkOptions(
    program
      .command('login')
      .description('Log in to a registry')
      .argument('[SERVER]')
      .option('-u, --username <string>', 'Username')
      .option('-p, --password <string>', 'Password')
      .option('--password-stdin', 'Take the password from stdin'),
  ).action(
    async (
      server: string | undefined,
      o: NetworkFlags & { username?: string; password?: string; passwordStdin?: boolean },
    ) => {
      const domain = registryFromServerArg(server);
      const opts = remoteOptionsFor(domain, o);
      const store = opts.credentials as CredentialStore;
      if (o.password !== undefined && o.passwordStdin)
        throw new WharfError(
          'INVALID_ARGUMENT',
          'conflicting options: cannot specify both --password and --password-stdin',
        );
      if (o.passwordStdin && !o.username)
        throw new WharfError('INVALID_ARGUMENT', 'Must provide --username with --password-stdin');
      if (o.password !== undefined)
        ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      let password = o.password;
      if (o.passwordStdin) password = (await readAllStdin()).replace(/\r?\n$/, '');
      let username = o.username;
      let creds: Credentials | undefined;
      if (username === undefined && password === undefined) {
        const saved = await store.get(domain);
        if (saved) {
          ctx.stdout.write('Authenticating with existing credentials...\n');
          creds = saved;
        }
      }
      if (!creds) {
        if (username === undefined || password === undefined) {
          if (!process.stdin.isTTY)
            throw withErrorPrefix(
              new WharfError('INVALID_ARGUMENT', 'Cannot perform an interactive login from a non TTY device'),
            );
          if (username === undefined) username = (await readSecretLine(ctx, 'Username: ', false)).trim();
          if (password === undefined) password = await readSecretLine(ctx, 'Password: ', true);
        }
        if (!username) throw new WharfError('INVALID_ARGUMENT', 'Username is required');
        if (!password) throw new WharfError('INVALID_ARGUMENT', 'Password is required');
        creds = { username, password };
      }
      const client = RegistryClient.forDomain(domain, { ...opts, credentials: { get: async () => creds } });
      try {
        await client.checkLogin();
      } catch (err) {
        // dockerd checks the login: its failures are the daemon's answer.
        if (is(err, 'UNAUTHORIZED') || is(err, 'DENIED')) {
          throw markDaemonSide(
            new WharfError(err.code, `login to ${domain} failed: unauthorized: incorrect username or password`, {
              cause: err,
            }),
          );
        }
        throw markDaemonSide(err);
      } finally {
        client.close();
      }
      await store.store(domain, creds);
      ctx.stdout.write('Login Succeeded\n');
    },
  );

  program
    .command('logout')
    .description('Log out from a registry')
    .argument('[SERVER]')
    .action(async (server: string | undefined) => {
      const domain = registryFromServerArg(server);
      const store = new CredentialStore(defaultCredentialFiles(process.env));
      const shown = server ?? domain;
      if (await store.erase(domain)) ctx.stdout.write(`Removing login credentials for ${shown}\n`);
      else ctx.stdout.write(`Not logged in to ${shown}\n`);
    });

  networkOptions(
    program
      .command('search')
      .description('Search for images in a registry (Docker Hub by default)')
      .argument('<TERM>')
      .option(
        '-f, --filter <filter>',
        'Filter output: stars=N, is-official=true|false, is-automated=true|false',
        filterFlag,
        [] as string[],
      )
      .option('--format <string>', 'Pretty-print search using a Go template')
      .option('--limit <int>', 'Max number of search results', intFlag, '25')
      .option('--no-trunc', "Don't truncate output"),
  ).action(
    async (term: string, o: NetworkFlags & { filter: string[]; format?: string; limit: string; trunc?: boolean }) => {
      // As dockerd: 0 is its default (25), and the range is its check.
      const limit = Number(o.limit) || 25;
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        throw markDaemonSide(new WharfError('INVALID_ARGUMENT', `Limit ${o.limit} is outside the range of [1, 100]`));
      const filters = parseSearchFilters(o.filter);
      const target = searchTarget(term);
      const opts = remoteOptionsFor(target.endpoint.domain, o);
      const endpoint = opts.insecureRegistries?.length
        ? {
            ...target.endpoint,
            insecure: target.endpoint.insecure || opts.insecureRegistries.includes(target.endpoint.domain),
          }
        : target.endpoint;
      const client = new RegistryClient(endpoint, opts);
      try {
        const found = await client.search(target.query, limit).catch((err: unknown) => {
          throw markDaemonSide(err); // dockerd searches: its failures are the daemon's answer
        });
        const results = found.filter(
          (r) =>
            r.starCount >= filters.stars &&
            (filters.official === undefined || r.isOfficial === filters.official) &&
            (filters.automated === undefined || r.isAutomated === filters.automated),
        );
        const noTrunc = o.trunc === false;
        const rows = results.map((r) => ({
          Name: r.name,
          Description: noTrunc ? r.description : ellipsis(r.description.replace(/\s+/g, ' '), 45),
          StarCount: String(r.starCount),
          IsOfficial: r.isOfficial ? '[OK]' : '',
          IsAutomated: r.isAutomated ? '[OK]' : '',
        }));
        ctx.stdout.write(
          renderList(rows, o.format, '{{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}', {
            Name: 'NAME',
            Description: 'DESCRIPTION',
            StarCount: 'STARS',
            IsOfficial: 'OFFICIAL',
            IsAutomated: 'AUTOMATED',
          }),
        );
      } finally {
        client.close();
      }
    },
  );
}

function concurrencyOf(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 64)
    throw new WharfError('INVALID_ARGUMENT', `invalid --max-concurrent ${JSON.stringify(v)}: want 1 to 64`);
  return n;
}

function parseSearchFilters(list: string[]): { stars: number; official?: boolean; automated?: boolean } {
  const out: { stars: number; official?: boolean; automated?: boolean } = { stars: 0 };
  for (const f of list) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? '' : f.slice(eq + 1);
    const bool = () => {
      if (value !== 'true' && value !== 'false') throw invalidFilter(`'${f}': want ${key}=true or ${key}=false`);
      return value === 'true';
    };
    if (key === 'stars') {
      if (!/^\d+$/.test(value)) throw invalidFilter(`'stars=${value}'`);
      out.stars = Number(value);
    } else if (key === 'is-official') out.official = bool();
    else if (key === 'is-automated') out.automated = bool();
    else throw invalidFilter(`'${key}'`);
  }
  return out;
}
