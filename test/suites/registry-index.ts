import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { claimOrphans, collectIndex, type RegistryIndex, type ManifestPut } from '../../src/registry/index.js';
import type { Digest } from '../../src/digest/index.js';
import { is } from '../../src/errors/index.js';

const dg = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}` as Digest;
const far = () => new Date(Date.now() + 3_600_000);

function manifest(name: string, over: Partial<ManifestPut> = {}): ManifestPut {
  const content = Buffer.from(`{"m":"${name}"}`);
  return {
    digest: dg(name),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    content,
    blobs: [],
    children: [],
    ...over,
  };
}

/** The behaviour every RegistryIndex (SQLite, PostgreSQL, in memory) must have, GC marking included. */
export function runRegistryIndexSuite(
  name: string,
  factory: () => Promise<{ index: RegistryIndex; cleanup(): Promise<void> }>,
): void {
  describe(`RegistryIndex suite: ${name}`, () => {
    let index: RegistryIndex;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ index, cleanup } = await factory());
    });
    afterEach(async () => {
      await index.close();
      await cleanup();
    });

    const addBlob = async (repo: string, s: string) => {
      const d = dg(s);
      await index.blobs.beginCommit(repo, d, `l-${s}`, far());
      await index.blobs.finishCommit(repo, d, s.length);
      return d;
    };

    it('links blobs per repository and mounts known blobs only', async () => {
      const b = await addBlob('a/x', 'layer1');
      assert.deepEqual(await index.blobs.linked('a/x', b), { size: 6 });
      assert.equal(await index.blobs.linked('a/y', b), undefined);
      assert.deepEqual(await index.blobs.stat(b), { size: 6 });
      assert.equal(await index.blobs.link('a/y', b, 'mnt', far()), true);
      assert.equal(await index.blobs.link('a/y', dg('unknown'), 'mnt2', far()), false);
      assert.deepEqual(await index.blobs.reposLinking(b, 10), ['a/x', 'a/y']);
      assert.equal(await index.blobs.unlink('a/y', b), true);
      assert.equal(await index.blobs.unlink('a/y', b), false);
    });

    it('refuses a manifest whose blobs or children are not in the repository', async () => {
      const b = await addBlob('r', 'cfg');
      await assert.rejects(index.manifests.put('r', manifest('m1', { blobs: [b, dg('missing')] })), (e) => {
        return (
          is(e, 'FAILED_PRECONDITION') && (e.details?.missing as string[] | undefined)?.includes(dg('missing')) === true
        );
      });
      await assert.rejects(index.manifests.put('other', manifest('m1', { blobs: [b] })), (e) =>
        is(e, 'FAILED_PRECONDITION'),
      );
      await assert.rejects(index.manifests.put('r', manifest('idx', { children: [dg('m1')] })), (e) =>
        is(e, 'FAILED_PRECONDITION'),
      );
      assert.deepEqual(await index.repositories.list({}), [], 'a failed put leaves nothing');
      assert.equal(await index.manifests.get('r', dg('m1')), undefined);
      await index.manifests.put('r', manifest('m1', { blobs: [b], tag: 'v1' }));
      await index.manifests.put('r', manifest('idx', { children: [dg('m1')], tag: 'multi' }));
      assert.equal(await index.tags.resolve('r', 'multi'), dg('idx'));
      const rec = await index.manifests.get('r', dg('m1'));
      assert.equal(rec?.content.toString(), '{"m":"m1"}');
      assert.equal(rec?.size, 10);
    });

    it('deletes one tag without touching its siblings; deleting by digest removes them all', async () => {
      for (const t of ['a', 'b', 'c']) await index.manifests.put('r', manifest('m', { tag: t }));
      assert.deepEqual(await index.tags.of('r', dg('m')), ['a', 'b', 'c']);
      assert.equal(await index.tags.delete('r', 'b'), true);
      assert.equal(await index.tags.delete('r', 'b'), false);
      assert.deepEqual(await index.tags.list('r', {}), ['a', 'c']);
      assert.ok(await index.manifests.get('r', dg('m')));
      assert.equal(await index.manifests.delete('r', dg('m')), true);
      assert.deepEqual(await index.tags.list('r', {}), []);
      assert.deepEqual(await index.repositories.list({}), [], 'a repository without manifests leaves the catalog');
      assert.equal(await index.repositories.exists('r'), true, 'but stays known: its tag list is empty, not unknown');
    });

    it('paginates tags and repositories in order with n and last', async () => {
      const tags = Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, '0')}`);
      for (const t of [...tags].reverse()) await index.manifests.put('p', manifest(`m${t}`, { tag: t }));
      assert.deepEqual(await index.tags.list('p', { n: 10 }), tags.slice(0, 10));
      assert.deepEqual(await index.tags.list('p', { n: 10, last: 't09' }), tags.slice(10, 20));
      assert.deepEqual(await index.tags.list('p', { last: 't19' }), tags.slice(20));
      for (const r of ['zeta', 'alpha/one', 'alpha/two', 'mid']) await index.manifests.put(r, manifest(`x${r}`));
      assert.deepEqual(await index.repositories.list({ n: 2 }), ['alpha/one', 'alpha/two']);
      assert.deepEqual(await index.repositories.list({ n: 2, last: 'alpha/two' }), ['mid', 'p']);
      assert.deepEqual(await index.repositories.search('alpha', 10), ['alpha/one', 'alpha/two']);
      assert.deepEqual(await index.repositories.search('%', 10), []);
    });

    it('lists referrers of a subject, filtered by artifactType', async () => {
      await index.manifests.put('r', manifest('sig', { subject: dg('subj'), artifactType: 'application/sig' }));
      await index.manifests.put(
        'r',
        manifest('sbom', { subject: dg('subj'), artifactType: 'application/sbom', annotations: { a: 'b' } }),
      );
      await index.manifests.put('r', manifest('other', { subject: dg('else') }));
      const all = await index.manifests.referrers('r', dg('subj'));
      assert.deepEqual(all.map((m) => m.digest).sort(), [dg('sig'), dg('sbom')].sort());
      const sboms = await index.manifests.referrers('r', dg('subj'), 'application/sbom');
      assert.equal(sboms.length, 1);
      assert.deepEqual(sboms[0]!.annotations, { a: 'b' });
      assert.deepEqual(await index.manifests.referrers('elsewhere', dg('subj')), []);
    });

    it('deletes a whole repository', async () => {
      const b = await addBlob('gone', 'l');
      await index.manifests.put('gone', manifest('m', { blobs: [b], tag: 'x' }));
      await index.uploads.create({ id: 'u1', repo: 'gone', startedAt: new Date() });
      assert.deepEqual(await index.repositories.delete('gone'), { manifests: 1, tags: 1 });
      assert.equal(await index.repositories.delete('gone'), undefined);
      assert.equal(await index.uploads.get('u1'), undefined);
      assert.equal(await index.blobs.linked('gone', b), undefined);
      assert.ok(await index.blobs.stat(b), 'the bytes stay for GC to decide');
    });

    it('tracks upload sessions by activity', async () => {
      const t0 = new Date(Date.now() - 10_000);
      await index.uploads.create({ id: 'old', repo: 'r', startedAt: t0 });
      await index.uploads.create({ id: 'new', repo: 'r', startedAt: new Date() });
      assert.deepEqual(
        (await index.uploads.idleSince(new Date(Date.now() - 5000))).map((u) => u.id),
        ['old'],
      );
      await index.uploads.touch('old', new Date());
      assert.deepEqual(await index.uploads.idleSince(new Date(Date.now() - 5000)), []);
      await index.uploads.delete('old');
      assert.equal(await index.uploads.get('old'), undefined);
      assert.equal((await index.uploads.get('new'))?.repo, 'r');
    });

    it('records what an upload session hashes to so far, and keeps it through plain touches', async () => {
      await index.uploads.create({ id: 'h', repo: 'r', startedAt: new Date() });
      assert.equal((await index.uploads.get('h'))?.hashed, undefined);
      await index.uploads.touch('h', new Date(), { size: 10, digest: dg('ten') });
      assert.deepEqual((await index.uploads.get('h'))?.hashed, { size: 10, digest: dg('ten') });
      await index.uploads.touch('h', new Date());
      assert.deepEqual((await index.uploads.get('h'))?.hashed, { size: 10, digest: dg('ten') });
      await index.uploads.touch('h', new Date(), { size: 25, digest: dg('more') });
      assert.deepEqual((await index.uploads.get('h'))?.hashed, { size: 25, digest: dg('more') });
      await index.uploads.delete('h');
    });

    it('GC keeps referenced and leased blobs, reserves the rest, and frees untagged manifests when asked', async () => {
      const used = await addBlob('r', 'used');
      const unused = await addBlob('r', 'unused');
      await index.leases.delete('l-unused');
      await index.leases.delete('l-used');
      const leased = await addBlob('r', 'leased');
      await index.manifests.put('r', manifest('tagged', { blobs: [used], tag: 'v1' }));
      const dry = await collectIndex(index.gc, {
        deleteUntagged: false,
        dryRun: true,
        now: new Date(),
        manifestGraceMs: 0,
      });
      assert.deepEqual(
        dry.blobs.map((b) => b.digest),
        [unused],
      );
      assert.ok(await index.blobs.stat(unused), 'dry run changes nothing');
      const real = await collectIndex(index.gc, {
        deleteUntagged: false,
        dryRun: false,
        now: new Date(),
        manifestGraceMs: 0,
      });
      assert.deepEqual(
        real.blobs.map((b) => b.digest),
        [unused],
      );
      assert.equal(await index.blobs.stat(unused), undefined);
      assert.ok(await index.blobs.stat(leased));
      // A commit of a digest being deleted waits for the reservation to end.
      let began = false;
      const p = index.blobs.beginCommit('r', unused, 'again', far()).then(() => (began = true));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(began, false);
      await index.gc.release([unused]);
      await p;
      assert.equal(began, true);

      // Untagged: a child of a tagged index and a referrer of a tagged manifest survive; a lone untagged one goes.
      const b2 = await addBlob('r', 'b2');
      await index.manifests.put('r', manifest('child', { blobs: [b2] }));
      await index.manifests.put('r', manifest('idx', { children: [dg('child')], tag: 'multi' }));
      await index.manifests.put('r', manifest('sig', { subject: dg('tagged') }));
      await index.manifests.put('r', manifest('lonely', { blobs: [b2] }));
      const u = await collectIndex(index.gc, {
        deleteUntagged: true,
        dryRun: false,
        now: new Date(Date.now() + 1000),
        manifestGraceMs: 0,
      });
      assert.deepEqual(
        u.manifests.map((m) => m.digest),
        [dg('lonely')],
      );
      assert.ok(await index.manifests.get('r', dg('child')));
      assert.ok(await index.manifests.get('r', dg('sig')));
      assert.ok(await index.blobs.stat(b2), 'still used by the child');
    });

    it('prunes expired leases only, which then stop protecting their blobs', async () => {
      const d = dg('short-lived');
      await index.blobs.beginCommit('r', d, 'short', new Date(Date.now() + 50));
      await index.blobs.finishCommit('r', d, 11);
      await index.blobs.beginCommit('r', dg('long'), 'long', far());
      assert.equal(await index.leases.prune(new Date()), 0);
      assert.equal(
        (await collectIndex(index.gc, { deleteUntagged: false, dryRun: true, now: new Date(), manifestGraceMs: 0 }))
          .blobs.length,
        0,
      );
      const later = new Date(Date.now() + 100);
      assert.equal(await index.leases.prune(later), 1);
      const plan = await collectIndex(index.gc, {
        deleteUntagged: false,
        dryRun: true,
        now: later,
        manifestGraceMs: 0,
      });
      assert.deepEqual(
        plan.blobs.map((b) => b.digest),
        [d],
      );
    });

    it('ends a lease when a manifest of its repository refers to the blob, not the leases of other repositories', async () => {
      const plan = async () =>
        (
          await collectIndex(index.gc, { deleteUntagged: false, dryRun: true, now: new Date(), manifestGraceMs: 0 })
        ).blobs.map((b) => b.digest);
      // One layer uploaded to two repositories by two clients; a config only in `a`; a mount into `c`.
      const layer = await addBlob('a', 'shared-layer');
      await index.blobs.beginCommit('b', layer, 'upload-b', far());
      await index.blobs.finishCommit('b', layer, 12);
      const cfg = await addBlob('a', 'cfg-a');
      assert.equal(await index.blobs.link('c', cfg, 'mount-c', far()), true);
      await index.manifests.put('a', manifest('img-a', { blobs: [cfg, layer] }));
      assert.deepEqual(await plan(), [], 'referenced, or still leased for b and c');
      // The tutorial's clean-up: the manifest is deleted by digest. What only it used is collectable at once, except
      // what another repository's push in flight (b) or a mount (c) still holds.
      assert.equal(await index.manifests.delete('a', dg('img-a')), true);
      assert.deepEqual(await plan(), [], 'b still leases the layer, c the config');
      const leased = await index.gc.transaction((tx) => tx.leasedBlobs(new Date()));
      assert.deepEqual(leased.map((l) => l.digest).sort(), [layer, cfg].sort());
      await index.manifests.put('c', manifest('img-c', { blobs: [cfg] }));
      await index.manifests.delete('c', dg('img-c'));
      assert.deepEqual(await plan(), [cfg], 'the mount lease ended with the manifest in c');
      await index.manifests.put('b', manifest('img-b', { blobs: [layer] }));
      await index.manifests.delete('b', dg('img-b'));
      assert.deepEqual((await plan()).sort(), [layer, cfg].sort(), 'and the upload lease of b with its manifest');
    });

    it('reports what marking kept and why', async () => {
      const tagged = await addBlob('r', 'tagged-layer');
      const untagged = await addBlob('r', 'untagged-layer');
      const leased = await addBlob('r', 'fresh-upload');
      await index.manifests.put('r', manifest('t', { blobs: [tagged], tag: 'v1' }));
      await index.manifests.put('r', manifest('u', { blobs: [untagged] }));
      const { kept, blobs } = await collectIndex(index.gc, {
        deleteUntagged: false,
        dryRun: true,
        now: new Date(),
        manifestGraceMs: 0,
      });
      assert.deepEqual(blobs, []);
      assert.equal(kept.taggedManifests, 1);
      assert.equal(kept.untaggedManifests, 1);
      assert.deepEqual(kept.taggedBlobs, { count: 1, bytes: 12 });
      assert.deepEqual(kept.untaggedBlobs, { count: 1, bytes: 14 });
      assert.equal(kept.leasedBlobs.count, 1);
      assert.equal(kept.leasedBlobs.bytes, 12);
      assert.ok(kept.leasedBlobs.expiresAt && kept.leasedBlobs.expiresAt > new Date(), String(leased));
    });

    it('GC keeps untagged manifests within the grace period and referrers of referrers of tagged ones', async () => {
      await index.manifests.put('r', manifest('base', { tag: 'v1' }));
      await index.manifests.put('r', manifest('sig1', { subject: dg('base') }));
      await index.manifests.put('r', manifest('sig2', { subject: dg('sig1') }));
      await index.manifests.put('r', manifest('stray-sig', { subject: dg('nothing') }));
      await index.manifests.put('other', manifest('sig1', { subject: dg('base') }));
      const young = await collectIndex(index.gc, {
        deleteUntagged: true,
        dryRun: true,
        now: new Date(),
        manifestGraceMs: 3_600_000,
      });
      assert.deepEqual(young.manifests, [], 'everything is young');
      const old = await collectIndex(index.gc, {
        deleteUntagged: true,
        dryRun: false,
        now: new Date(Date.now() + 1000),
        manifestGraceMs: 0,
      });
      assert.deepEqual(
        old.manifests.map((m) => [m.repo, m.digest]),
        [
          ['other', dg('sig1')],
          ['r', dg('stray-sig')],
        ],
        'a subject counts only in its own repository',
      );
      assert.ok(await index.manifests.get('r', dg('sig2')));
      assert.deepEqual(await index.repositories.list({}), ['r'], 'the emptied repository left the catalog');
    });

    it('rolls a GC transaction back when it throws, and holds other calls until it ends', async () => {
      const b = await addBlob('r', 'kept');
      await assert.rejects(
        index.gc.transaction(async (tx) => {
          await tx.deleteBlobs([b]);
          assert.deepEqual(await tx.blobs(), []);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await index.blobs.stat(b), { size: 4 }, 'the deletion was rolled back');

      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const order: string[] = [];
      const gc = index.gc.transaction(async (tx) => {
        await held;
        await tx.deleteBlobs([b]);
        order.push('gc');
      });
      const stat = index.blobs.stat(b).then((st) => {
        order.push('stat');
        return st;
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(order, [], 'the read waits for the transaction');
      release();
      await gc;
      assert.equal(await stat, undefined, 'and sees its outcome');
      assert.deepEqual(order, ['gc', 'stat']);
    });

    it('claims only orphan digests that no row or lease protects', async () => {
      const known = await addBlob('r', 'known');
      const leasedOnly = dg('leased-only');
      await index.blobs.beginCommit('r', leasedOnly, 'commit-in-flight', far());
      const claimed = await claimOrphans(index.gc, [known, leasedOnly, dg('orphan')], new Date());
      assert.deepEqual(claimed, [dg('orphan')]);
      await index.gc.release(claimed);
    });
  });
}
