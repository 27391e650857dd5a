import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WharfError } from '../../src/errors/index.js';
import {
  familiarName,
  familiarString,
  formatReference,
  isValidDomain,
  isValidRepositoryPath,
  isValidTag,
  looksLikeImageId,
  NAME_TOTAL_LENGTH_MAX,
  nameOnly,
  parseDockerRef,
  parseNormalizedNamed,
  parseReference,
  repositoryName,
  splitDockerDomain,
  withDefaultTag,
  withDigest,
  withTag,
  type Reference,
} from '../../src/reference/index.js';

const SHA = 'sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff';
const SHA512 = `sha512:${'f'.repeat(128)}`;
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WharfError, `expected WharfError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, message);
    return true;
  });
}

describe('parseReference (strict grammar, cases from distribution/reference)', () => {
  const valid: Array<[string, Reference]> = [
    ['test_com', { domain: '', path: 'test_com' }],
    ['test.com:tag', { domain: '', path: 'test.com', tag: 'tag' }],
    ['test.com:5000', { domain: '', path: 'test.com', tag: '5000' }],
    ['test.com/repo:tag', { domain: 'test.com', path: 'repo', tag: 'tag' }],
    ['test:5000/repo', { domain: 'test:5000', path: 'repo' }],
    ['test:5000/repo:tag', { domain: 'test:5000', path: 'repo', tag: 'tag' }],
    [`test:5000/repo@${SHA}`, { domain: 'test:5000', path: 'repo', digest: SHA as never }],
    [`test:5000/repo:tag@${SHA}`, { domain: 'test:5000', path: 'repo', tag: 'tag', digest: SHA as never }],
    ['lowercase:Uppercase', { domain: '', path: 'lowercase', tag: 'Uppercase' }],
    [
      'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
      { domain: 'sub-dom1.foo.com', path: 'bar/baz/quux', tag: 'some-long-tag' },
    ],
    [
      'b.gcr.io/test.example.com/my-app:test.example.com',
      { domain: 'b.gcr.io', path: 'test.example.com/my-app', tag: 'test.example.com' },
    ],
    ['xn--n3h.com/myimage:xn--n3h.com', { domain: 'xn--n3h.com', path: 'myimage', tag: 'xn--n3h.com' }],
    [
      `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`,
      { domain: 'xn--7o8h.com', path: 'myimage', tag: 'xn--7o8h.com', digest: SHA512 as never },
    ],
    ['foo_bar.com:8080', { domain: '', path: 'foo_bar.com', tag: '8080' }],
    // Go's greedy split: the first of several components is a domain whenever it is shaped like one.
    ['foo/foo_bar.com:8080', { domain: 'foo', path: 'foo_bar.com', tag: '8080' }],
    ['test_com/foo', { domain: '', path: 'test_com/foo' }],
    ['192.168.1.1', { domain: '', path: '192.168.1.1' }],
    ['192.168.1.1:5000/repo:5050', { domain: '192.168.1.1:5000', path: 'repo', tag: '5050' }],
    ['[2001:db8::1]/repo', { domain: '[2001:db8::1]', path: 'repo' }],
    ['[2001:db8::1]:5000/repo:tag', { domain: '[2001:db8::1]:5000', path: 'repo', tag: 'tag' }],
    ['[::1]:5000/repo', { domain: '[::1]:5000', path: 'repo' }],
    ['a__b/c---d.e_f', { domain: '', path: 'a__b/c---d.e_f' }],
    [
      `${'a/'.repeat(127)}a:tag-puts-this-over-max`,
      { domain: 'a', path: `${'a/'.repeat(126)}a`, tag: 'tag-puts-this-over-max' },
    ],
  ];
  for (const [input, want] of valid) {
    it(`accepts ${input.slice(0, 60)}`, () => {
      const r = parseReference(input);
      assert.deepEqual(r, want);
      assert.equal(formatReference(r), input, 'formatting gives the input back');
    });
  }

  const invalid: Array<[string, RegExp]> = [
    ['', /must have at least one component/],
    [':justtag', /at least one component/],
    [`@${SHA}`, /at least one component/],
    ['repo@sha256:ffffffffffffffffffffffffffffffffff', /invalid digest/],
    [`validname@invaliddigest:${'f'.repeat(64)}`, /invalid digest|unsupported or malformed digest/],
    [`repo@sha256:${'F'.repeat(64)}`, /digest/],
    ['Uppercase:tag', /repository name \(Uppercase\) must be lowercase/],
    ['test:5000/Uppercase/lowercase:tag', /must be lowercase/],
    [`${'a/'.repeat(129)}a:tag`, /must not be more than 255 characters/],
    ['aa/asdf$$^/aa', /invalid repository name component "asdf\$\$\^"/],
    ['[2001:db8::1]', /invalid/],
    ['[2001:db8::1]:5000', /invalid/],
    ['[fe80::1%eth0]:5000/repo', /invalid/],
    ['foo//bar', /empty path component/],
    ['foo/', /empty path component/],
    ['/foo', /empty path component/],
    ['foo:', /invalid tag ""/],
    ['foo:-bad', /invalid tag "-bad"/],
    [`foo:${'a'.repeat(129)}`, /invalid tag/],
    ['foo:a:b', /invalid/],
    [':', /invalid/],
    ['-foo', /invalid repository name component "-foo"/],
    ['foo-', /invalid repository name component/],
    ['dock..er/docker', /invalid/],
    ['foo bar', /invalid/],
    ['https://github.com/docker/docker', /invalid/],
  ];
  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input.slice(0, 60))}`, () => rejects(() => parseReference(input), message));
  }

  it('prefixes every rejection with Docker\'s "invalid reference format"', () => {
    rejects(() => parseReference('foo//bar'), /^invalid reference format: /);
    rejects(() => parseReference('UP'), /^invalid reference format: repository name \(UP\) must be lowercase$/);
  });

  it('limits the path (not domain, tag or digest) to NAME_TOTAL_LENGTH_MAX characters, as Docker 28 does', () => {
    assert.equal(NAME_TOTAL_LENGTH_MAX, 255);
    const path255 = `a/${'b'.repeat(253)}`;
    const r = parseReference(`example.com/${path255}:${'t'.repeat(128)}@${SHA}`);
    assert.equal(r.path, path255);
    rejects(() => parseReference(`example.com/${path255}b`), /must not be more than 255 characters/);
    assert.equal(parseNormalizedNamed(`x.com/${'b'.repeat(255)}`).path.length, 255);
    rejects(() => parseNormalizedNamed(`x.com/${'b'.repeat(256)}`), /255/);
    // Docker Hub names count 'library/' (part of the path) but not 'docker.io/'.
    assert.equal(parseNormalizedNamed('b'.repeat(247)).path.length, 255);
    rejects(() => parseNormalizedNamed('b'.repeat(248)), /255/);
  });
});

describe('parseNormalizedNamed (Docker normalization)', () => {
  const cases: Array<[string, string, string, string]> = [
    // input, domain, path, full formatted
    ['ubuntu', 'docker.io', 'library/ubuntu', 'docker.io/library/ubuntu'],
    ['ubuntu:22.04', 'docker.io', 'library/ubuntu', 'docker.io/library/ubuntu:22.04'],
    ['user/app', 'docker.io', 'user/app', 'docker.io/user/app'],
    ['docker.io/foo', 'docker.io', 'library/foo', 'docker.io/library/foo'],
    ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar', 'docker.io/library/foo/bar'],
    ['index.docker.io/library/debian', 'docker.io', 'library/debian', 'docker.io/library/debian'],
    ['index.docker.io/debian', 'docker.io', 'library/debian', 'docker.io/library/debian'],
    ['localhost/x', 'localhost', 'x', 'localhost/x'],
    ['localhost:5000/x:1', 'localhost:5000', 'x', 'localhost:5000/x:1'],
    ['host:5000/x', 'host:5000', 'x', 'host:5000/x'],
    ['host.name/x', 'host.name', 'x', 'host.name/x'],
    ['127.0.0.1:5000/library/debian', '127.0.0.1:5000', 'library/debian', '127.0.0.1:5000/library/debian'],
    ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000', 'docker/docker', '[fc00::1]:5000/docker/docker'],
    ['test_com/foo', 'docker.io', 'test_com/foo', 'docker.io/test_com/foo'],
    ['Foo/bar', 'Foo', 'bar', 'Foo/bar'],
    ['DOCKER/docker', 'DOCKER', 'docker', 'DOCKER/docker'],
    // A single component is always a Docker Hub name: 'localhost:5000' is repository 'localhost', tag '5000'.
    ['localhost:5000', 'docker.io', 'library/localhost', 'docker.io/library/localhost:5000'],
    ['192.168.0.1:80', 'docker.io', 'library/192.168.0.1', 'docker.io/library/192.168.0.1:80'],
    [`docker.io/${HEX64}`, 'docker.io', `library/${HEX64}`, `docker.io/library/${HEX64}`],
    [
      'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
      'docker.io',
      'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
      'docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    ],
    ['ubuntu:Latest', 'docker.io', 'library/ubuntu', 'docker.io/library/ubuntu:Latest'],
    [`busybox:latest@${SHA}`, 'docker.io', 'library/busybox', `docker.io/library/busybox:latest@${SHA}`],
  ];
  for (const [input, domain, path, full] of cases) {
    it(`normalizes ${input.slice(0, 60)}`, () => {
      const r = parseNormalizedNamed(input);
      assert.equal(r.domain, domain);
      assert.equal(r.path, path);
      assert.equal(formatReference(r), full);
    });
  }

  const invalid: Array<[string, RegExp]> = [
    [HEX64, /cannot specify 64-byte hexadecimal strings/],
    ['docker/Docker', /repository name \(docker\/Docker\) must be lowercase/],
    ['Ubuntu', /repository name \(library\/Ubuntu\) must be lowercase/],
    ['docker.io/docker/Docker', /must be lowercase/],
    ['-docker', /invalid/],
    ['-docker/docker', /invalid/],
    ['docker-/docker', /invalid/],
    ['____/____', /invalid/],
    ['_docker/_docker', /invalid/],
    ['dock_.er/docker', /invalid/],
    ['docker///docker', /empty path component.*"docker\/\/\/docker"/],
    ['docker.io/docker///docker', /empty path component/],
    ['docker/', /empty path component/],
    ['[fc00::1]', /invalid/],
    ['[fc00::1]:5000', /invalid/],
    ['fc00::1:5000/debian', /invalid/],
    ['[fe80::1%eth0]:5000/debian', /invalid/],
    ['[2001:db8:3:4::192.0.2.33]:5000/debian', /invalid/],
    ['https://github.com/docker/docker', /invalid/],
    ['', /invalid/],
    [':', /invalid/],
    ['ubuntu:', /invalid tag/],
    ['ubuntu:bad tag', /invalid/],
    [`ubuntu@sha256:${'0'.repeat(63)}`, /digest/],
    [`${'a'.repeat(249)}/docker`, /must not be more than 255 characters/],
  ];
  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input.slice(0, 60))}`, () => rejects(() => parseNormalizedNamed(input), message));
  }

  it('reports what the user typed in details, not the docker.io expansion', () => {
    try {
      parseNormalizedNamed('foo//bar');
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof WharfError);
      assert.deepEqual(err.details, { reference: 'foo//bar' });
      assert.doesNotMatch(err.message, /docker\.io/);
    }
  });

  it('splits the domain exactly as Docker does', () => {
    assert.deepEqual(splitDockerDomain('ubuntu'), { domain: 'docker.io', remainder: 'library/ubuntu' });
    assert.deepEqual(splitDockerDomain('a/b'), { domain: 'docker.io', remainder: 'a/b' });
    assert.deepEqual(splitDockerDomain('localhost/b'), { domain: 'localhost', remainder: 'b' });
    assert.deepEqual(splitDockerDomain('Upper/b'), { domain: 'Upper', remainder: 'b' });
    assert.deepEqual(splitDockerDomain('index.docker.io/b'), { domain: 'docker.io', remainder: 'library/b' });
    assert.deepEqual(splitDockerDomain('a.b/c/d'), { domain: 'a.b', remainder: 'c/d' });
  });
});

describe('familiar forms', () => {
  const cases: Array<[string, string, string]> = [
    // input, familiarName, familiarString
    ['ubuntu', 'ubuntu', 'ubuntu'],
    ['docker.io/library/ubuntu:22.04', 'ubuntu', 'ubuntu:22.04'],
    ['fooo/bar', 'fooo/bar', 'fooo/bar'],
    ['index.docker.io/fooo/bar:1', 'fooo/bar', 'fooo/bar:1'],
    ['library/foo/bar', 'library/foo/bar', 'library/foo/bar'],
    ['other/library', 'other/library', 'other/library'],
    ['localhost:5000/x:tag', 'localhost:5000/x', 'localhost:5000/x:tag'],
    ['example.com/privatebase', 'example.com/privatebase', 'example.com/privatebase'],
    ['Foo/bar', 'Foo/bar', 'Foo/bar'],
    [`busybox:latest@${SHA}`, 'busybox', `busybox:latest@${SHA}`],
    [`busybox@${SHA}`, 'busybox', `busybox@${SHA}`],
  ];
  for (const [input, name, str] of cases) {
    it(`familiarizes ${input.slice(0, 50)}`, () => {
      const r = parseNormalizedNamed(input);
      assert.equal(familiarName(r), name);
      assert.equal(familiarString(r), str);
      // The familiar string parses back to the same reference.
      assert.deepEqual(parseNormalizedNamed(familiarString(r)), r);
    });
  }

  it('repositoryName is domain/path without tag or digest', () => {
    assert.equal(repositoryName(parseNormalizedNamed(`ubuntu:1@${SHA}`)), 'docker.io/library/ubuntu');
    assert.equal(repositoryName(parseReference('x/y:1')), 'x/y');
    assert.equal(repositoryName(parseReference('y:1')), 'y');
  });
});

describe('tags and digests', () => {
  it('withDefaultTag adds latest only when there is neither tag nor digest', () => {
    assert.equal(formatReference(withDefaultTag(parseNormalizedNamed('ubuntu'))), 'docker.io/library/ubuntu:latest');
    assert.equal(withDefaultTag(parseNormalizedNamed('ubuntu:1')).tag, '1');
    const d = withDefaultTag(parseNormalizedNamed(`ubuntu@${SHA}`));
    assert.equal(d.tag, undefined);
    assert.equal(formatReference(d), `docker.io/library/ubuntu@${SHA}`);
  });

  it('parseDockerRef keeps only the digest when both are given, else defaults the tag', () => {
    assert.equal(formatReference(parseDockerRef(`busybox:latest@${SHA}`)), `docker.io/library/busybox@${SHA}`);
    assert.equal(formatReference(parseDockerRef('busybox')), 'docker.io/library/busybox:latest');
    assert.equal(formatReference(parseDockerRef('busybox:1')), 'docker.io/library/busybox:1');
  });

  it('withTag, withDigest, nameOnly validate and do not mutate', () => {
    const r = parseNormalizedNamed('ubuntu');
    const t = withTag(r, 'TAG5');
    assert.equal(formatReference(t), 'docker.io/library/ubuntu:TAG5');
    assert.equal(r.tag, undefined);
    assert.equal(formatReference(withDigest(t, SHA)), `docker.io/library/ubuntu:TAG5@${SHA}`);
    assert.deepEqual(nameOnly(withDigest(t, SHA)), { domain: 'docker.io', path: 'library/ubuntu' });
    rejects(() => withTag(r, '-foo'), /invalid tag format/);
    rejects(() => withDigest(r, 'foo'), /invalid digest format/);
  });

  const tags: Array<[string, boolean]> = [
    ['latest', true],
    ['Latest', true],
    ['_x', true],
    ['1.0-rc.1', true],
    ['a'.repeat(128), true],
    ['', false],
    ['.x', false],
    ['-x', false],
    ['a'.repeat(129), false],
    ['a:b', false],
    ['a/b', false],
    ['a@b', false],
    ['é', false],
  ];
  for (const [tag, ok] of tags)
    it(`isValidTag(${JSON.stringify(tag.slice(0, 20))}) is ${ok}`, () => assert.equal(isValidTag(tag), ok));
});

describe('validators', () => {
  const paths: Array<[string, boolean]> = [
    ['library/ubuntu', true],
    ['a', true],
    ['a/b/c', true],
    ['a__b', true],
    ['a---b', true],
    ['a.b_c', true],
    ['', false],
    ['A', false],
    ['a//b', false],
    ['a/', false],
    ['/a', false],
    ['a___b', false],
    ['a..b', false],
    ['_a', false],
    ['a-', false],
    ['host:5000/a', false],
    [`a/${'b'.repeat(253)}`, true],
    [`a/${'b'.repeat(254)}`, false],
  ];
  for (const [p, ok] of paths)
    it(`isValidRepositoryPath(${JSON.stringify(p.slice(0, 20))}) is ${ok}`, () =>
      assert.equal(isValidRepositoryPath(p), ok));

  const domains: Array<[string, boolean]> = [
    ['localhost', true],
    ['localhost:5000', true],
    ['registry-1.docker.io', true],
    ['127.0.0.1:5000', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['Example.COM', true],
    ['', false],
    ['-bad.com', false],
    ['bad-.com', false],
    ['a..b', false],
    ['host:', false],
    ['host:port', false],
    ['::1', false],
    ['[fe80::1%eth0]', false],
    ['a/b', false],
  ];
  for (const [d, ok] of domains)
    it(`isValidDomain(${JSON.stringify(d)}) is ${ok}`, () => assert.equal(isValidDomain(d), ok));

  const ids: Array<[string, boolean]> = [
    ['0123456789ab', true],
    [HEX64, true],
    [`sha256:${HEX64}`, true],
    ['0123456789a', false],
    [`${HEX64}0`, false],
    ['0123456789AB', false],
    ['ubuntu', false],
    [`sha256:${HEX64.slice(1)}`, false],
    [`sha512:${HEX64}`, false],
  ];
  for (const [s, ok] of ids)
    it(`looksLikeImageId(${JSON.stringify(s.slice(0, 20))}) is ${ok}`, () => assert.equal(looksLikeImageId(s), ok));
});
