import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { formatGoDuration, humanDuration, humanSize } from '../../util/index.js';
import type { GcReport } from '../../registry/index.js';
import type { CliContext } from '../context.js';

/** The registry server loads on use: every other verb would otherwise initialise it (and jose, bcrypt, cluster). */
const registryModule = () => import('../../registry/index.js');

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** What a collection left in place and why, one line per reason (nothing when nothing of that kind stayed). */
function keptLines(r: GcReport, deleteUntagged: boolean, now: Date): string[] {
  const lines: string[] = [];
  const k = r.kept;
  const size = (x: { bytes: number }) => humanSize(x.bytes);
  if (k) {
    if (k.taggedManifests > 0) lines.push(`kept ${k.taggedManifests} manifest(s) reachable from tags`);
    if (k.untaggedManifests > 0)
      lines.push(
        deleteUntagged
          ? `kept ${k.untaggedManifests} untagged manifest(s) pushed within the grace period (gc.bloblease)`
          : `kept ${k.untaggedManifests} untagged manifest(s) (--delete-untagged removes them)`,
      );
    if (k.taggedBlobs.count > 0)
      lines.push(`kept ${k.taggedBlobs.count} blob(s) (${size(k.taggedBlobs)}) referenced by tagged manifests`);
    if (k.untaggedBlobs.count > 0)
      lines.push(
        `kept ${k.untaggedBlobs.count} blob(s) (${size(k.untaggedBlobs)}) referenced only by untagged manifests`,
      );
    if (k.leasedBlobs.count > 0) {
      const until = k.leasedBlobs.expiresAt;
      const left = until ? `, newest expires in ${humanDuration((until.getTime() - now.getTime()) / 1000)}` : '';
      lines.push(
        `kept ${k.leasedBlobs.count} blob(s) (${size(k.leasedBlobs)}) under upload lease: uploaded recently, no manifest refers to them yet${left}`,
      );
    }
  }
  if (r.uploadsKept.count > 0) {
    const age =
      r.uploadPurgeAgeMs !== undefined ? `, purged after ${formatGoDuration(r.uploadPurgeAgeMs * 1e6)} idle` : '';
    lines.push(`kept ${r.uploadsKept.count} upload(s) in progress (${size(r.uploadsKept)})${age}`);
  }
  return lines;
}

function renderGcReport(r: GcReport, deleteUntagged: boolean): string {
  const verb = r.dryRun ? 'would free' : 'freed';
  const lines = [
    ...r.manifests.map((m) => `${r.dryRun ? 'would delete' : 'deleted'} manifest ${m.repo}@${m.digest}`),
    ...r.blobs.map((b) => `${r.dryRun ? 'would delete' : 'deleted'} blob ${b.digest} (${humanSize(b.size)})`),
    ...keptLines(r, deleteUntagged, new Date()),
    `${r.manifests.length} manifest(s), ${r.blobs.length} blob(s), ${r.orphanFiles} orphan file(s), ${r.uploadsPurged} stale upload(s): ${verb} ${humanSize(r.bytesFreed)} (${r.bytesFreed} bytes) in ${r.durationMs} ms`,
  ];
  return `${lines.join('\n')}\n`;
}

export function register(program: Command, ctx: CliContext): void {
  const registry = program.command('registry').description('Run and manage a private OCI/Docker registry');
  const load = async (o: { config?: string; addr?: string }) =>
    (await registryModule()).loadRegistryConfig({
      wharfRoot: ctx.globals().root,
      env: process.env,
      ...(o.config !== undefined ? { configFile: o.config } : {}),
      ...(o.addr !== undefined ? { addr: o.addr } : {}),
    });

  registry
    .command('serve')
    .description('Serve the registry (default 127.0.0.1:5000, data under <wharf root>/registry)')
    .option('--config <file>', 'YAML configuration (distribution-compatible keys)')
    .option('--addr <host:port>', 'Listen address, overrides http.addr')
    .action(async (o: { config?: string; addr?: string }) => {
      const config = await load(o);
      const reg = await (await registryModule()).startRegistry(config, { log: (l) => ctx.stderr.write(`${l}\n`) });
      ctx.stderr.write(`registry listening on ${reg.url} (data in ${config.rootDirectory})\n`);
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          ctx.stderr.write(`${sig}: finishing requests in flight, then stopping\n`);
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          reg.close().then(resolve, resolve);
        };
        const onInt = () => stop('SIGINT');
        const onTerm = () => stop('SIGTERM');
        process.on('SIGINT', onInt);
        process.on('SIGTERM', onTerm);
      });
    });

  registry
    .command('gc')
    .description('Remove blobs (and with --delete-untagged, manifests) that nothing references; safe while serving')
    .option('--config <file>', 'YAML configuration')
    .option('--dry-run', 'Only report what would be removed and the bytes it would free')
    .option('--delete-untagged', 'Also remove manifests no tag reaches (multi-arch children and referrers are kept)')
    .option('--json', 'Print the report as JSON')
    .action(async (o: { config?: string; dryRun?: boolean; deleteUntagged?: boolean; json?: boolean }) => {
      const config = await load(o);
      const store = await (await registryModule()).openRegistryStore(config);
      try {
        const report = await (await registryModule()).collectGarbage(store, {
          dryRun: o.dryRun === true,
          deleteUntagged: o.deleteUntagged === true,
          uploadPurgeAgeMs: config.uploadPurgeAgeMs,
        });
        ctx.stdout.write(
          o.json ? `${JSON.stringify(report, null, 2)}\n` : renderGcReport(report, o.deleteUntagged === true),
        );
      } finally {
        await store.index.close();
      }
    });

  registry
    .command('migrate')
    .description("Bring the index's database schema up to this Wharf's (PostgreSQL: versioned migrations), then exit")
    .option('--config <file>', 'YAML configuration')
    .action(async (o: { config?: string }) => {
      const config = await load(o);
      const mod = await registryModule();
      if (config.database.driver === 'sqlite') {
        // The SQLite index brings itself up to date when opened; opening it is the migration.
        const index = await mod.openRegistryIndex(config);
        await index.close();
        ctx.stdout.write(`sqlite index ${path.join(config.rootDirectory, 'index.db')} is up to date\n`);
        return;
      }
      const r = await mod.migratePostgres(config.database);
      for (const m of r.applied) ctx.stdout.write(`applied migration ${m.version}: ${m.description}\n`);
      ctx.stdout.write(
        r.applied.length === 0
          ? `postgres schema is at version ${r.to}, nothing to apply\n`
          : `postgres schema migrated from version ${r.from} to ${r.to}\n`,
      );
    });

  registry
    .command('htpasswd')
    .description('Add or replace a user in a bcrypt htpasswd file (for auth.htpasswd.path)')
    .argument('<file>', 'htpasswd file, created when missing')
    .argument('<user>', 'user name')
    .option('--password-stdin', 'Read the password from stdin')
    .option('-p, --password <password>', 'Password (prefer --password-stdin)')
    .action(async (file: string, user: string, o: { passwordStdin?: boolean; password?: string }) => {
      const password = o.passwordStdin ? await readStdin() : o.password;
      if (password === undefined || password === '') {
        throw new WharfError('INVALID_ARGUMENT', 'a password is needed: --password-stdin or --password');
      }
      const line = (await registryModule()).htpasswdLine(user, password);
      let lines: string[] = [];
      try {
        lines = (await fsp.readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
      } catch {
        await fsp.mkdir(path.dirname(path.resolve(file)), { recursive: true });
      }
      const kept = lines.filter((l) => !l.startsWith(`${user}:`));
      await fsp.writeFile(file, `${[...kept, line].join('\n')}\n`, { mode: 0o600 });
      ctx.stderr.write(`${kept.length === lines.length ? 'added' : 'updated'} user ${user} in ${file}\n`);
    });

  registry
    .command('rm-repo')
    .description('Delete a whole repository (tags, manifests, links); run gc to reclaim the bytes')
    .argument('<name>', 'repository name')
    .option('--config <file>', 'YAML configuration')
    .action(async (name: string, o: { config?: string }) => {
      const config = await load(o);
      const store = await (await registryModule()).openRegistryStore(config);
      try {
        const res = await store.index.repositories.delete(name);
        if (!res) throw new WharfError('NOT_FOUND', `repository ${name} is not known`);
        ctx.stdout.write(`deleted ${name}: ${res.manifests} manifest(s), ${res.tags} tag(s)\n`);
      } finally {
        await store.index.close();
      }
    });
}
