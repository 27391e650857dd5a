import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, renderTable, renderList, goJson } from '../../../src/cli/format.js';
import { humanSize, humanDuration } from '../../../src/util/time.js';

const dot = {
  Id: 'sha256:abc',
  Config: { Cmd: ['sh', '-c'], Labels: { 'a.b': 'c' }, Env: null },
  RepoTags: ['x:1', 'y:2'],
  Size: 42,
  Empty: [],
};

test('Go template subset: fields, json, index, join, range, if/else, with, pipes', () => {
  const rows: Array<[string, string]> = [
    ['{{.Id}}', 'sha256:abc'],
    ['{{.Config.Cmd}}', '[sh -c]'],
    ['{{json .Config.Cmd}}', '["sh","-c"]'],
    ['{{json .}}', goJson(dot)],
    ['{{index .Config.Labels "a.b"}}', 'c'],
    ['{{join .RepoTags ","}}', 'x:1,y:2'],
    ['{{range .RepoTags}}[{{.}}]{{end}}', '[x:1][y:2]'],
    ['{{range .Empty}}x{{else}}none{{end}}', 'none'],
    ['{{if .Config.Env}}set{{else}}unset{{end}}', 'unset'],
    ['{{with .Config}}{{len .Cmd}}{{end}}', '2'],
    ['{{.Size}} bytes', '42 bytes'],
    ['{{.Config.Cmd | json}}', '["sh","-c"]'],
    ['{{upper .Id}}', 'SHA256:ABC'],
    ['{{.Missing}}', '<no value>'],
    ['a\\tb', 'a\tb'],
    ['{{- .Size }} x {{ .Size -}}  y', '42 x 42y'],
  ];
  for (const [src, want] of rows) assert.equal(compileTemplate(src).render(dot), want, src);
});

test('template errors are INVALID_ARGUMENT with a readable message', () => {
  assert.throws(() => compileTemplate('{{.Id'), /^WharfError: template: :1: unclosed action$/);
  assert.throws(() => compileTemplate('a\n{{if .Id}}x'), /^WharfError: template: :2: unexpected EOF$/);
  assert.throws(() => compileTemplate('{{.Id}}\n\n{{end}}'), /^WharfError: template: :3: unexpected \{\{end\}\}$/);
  assert.throws(
    () => renderList([], '{{.Id', '', {}),
    /^WharfError: template parsing error: template: :1: unclosed action$/,
  );
  assert.throws(() => compileTemplate('{{if .Id}}x'), /unexpected EOF/);
  assert.throws(() => compileTemplate('{{nosuchfunc .Id}}').render(dot), /not a function|not defined/);
});

test('goJson escapes <, > and & as Go does', () => {
  assert.equal(goJson({ d: '<none>&' }), '{"d":"\\u003cnone\\u003e\\u0026"}');
});

test("renderTable pads like docker's tabwriter (min width 10, padding 3, last column free)", () => {
  const out = renderTable([
    ['REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'],
    ['busybox', 'latest', '0123456789ab', '4.26MB'],
  ]);
  assert.equal(out, 'REPOSITORY   TAG       IMAGE ID       SIZE\nbusybox      latest    0123456789ab   4.26MB\n');
});

test('renderList: table with header names, custom table template, json lines, plain template', () => {
  const rows = [{ ID: 'a', CreatedSince: '1 day ago' }];
  assert.equal(
    renderList(rows, undefined, '{{.ID}}\t{{.CreatedSince}}', { ID: 'IMAGE ID', CreatedSince: 'CREATED' }),
    'IMAGE ID   CREATED\na          1 day ago\n',
  );
  assert.equal(renderList(rows, 'table {{.ID}}', '', { ID: 'IMAGE ID' }), 'IMAGE ID\na\n');
  // docker's contexts marshal as a map: keys sorted
  assert.equal(renderList(rows, 'json', '', {}), '{"CreatedSince":"1 day ago","ID":"a"}\n');
  assert.equal(renderList(rows, '{{.ID}}!', '', {}), 'a!\n');
});

test('humanSize and humanDuration follow go-units as docker prints them', () => {
  const sizes: Array<[number, string]> = [
    [0, '0B'],
    [999, '999B'],
    [1000, '1kB'],
    [4261550, '4.26MB'],
    [72_800_000, '72.8MB'],
    [1.5e9, '1.5GB'],
    [123_456, '123kB'],
  ];
  for (const [n, s] of sizes) assert.equal(humanSize(n), s, String(n));
  const durations: Array<[number, string]> = [
    [0.5, 'Less than a second'],
    [1, '1 second'],
    [59, '59 seconds'],
    [60, 'About a minute'],
    [119, 'About a minute'],
    [120, '2 minutes'],
    [3600, 'About an hour'],
    [7200, '2 hours'],
    [86400 * 3, '3 days'],
    [86400 * 20, '2 weeks'],
    [86400 * 90, '3 months'],
    [86400 * 800, '2 years'],
  ];
  for (const [s, want] of durations) assert.equal(humanDuration(s), want, String(s));
});

test('the verb is found after global flags and their values', async () => {
  const { verbOf } = await import('../../../src/cli/main.js');
  assert.equal(verbOf(['--root', '/x', 'run', 'busybox']), 'run');
  assert.equal(verbOf(['--root=/x', '--log-level', 'debug', 'exec', 'c']), 'exec');
  assert.equal(verbOf(['images']), 'images');
  assert.equal(verbOf(['--version']), undefined);
});

test('the json template function does not escape HTML (docker CLI sets SetEscapeHTML(false)); list rows do', () => {
  assert.equal(
    compileTemplate('{{json .Cmd}}').render({ Cmd: ['sh', '-c', 'a > b && c'] }),
    '["sh","-c","a > b && c"]',
  );
  assert.equal(renderList([{ Repository: '<none>' }], '{{json .}}', '', {}), '{"Repository":"\\u003cnone\\u003e"}\n');
});

test("a list's row type: a field it lacks fails in Go's words, by exact name; one a row leaves out prints", () => {
  const type = { name: '*formatter.ContainerContext', fields: ['ID', 'Names', 'LocalVolumes'] };
  const rows = [{ ID: 'abc', Names: 'web' }];
  assert.equal(renderList(rows, '{{.ID}} {{.Names}}', '', {}, type), 'abc web\n');
  assert.equal(renderList(rows, '{{.LocalVolumes}}', '', {}, type), '<no value>\n');
  assert.throws(
    () => renderList(rows, 'x {{.Nope}}', '', {}, type),
    /^WharfError: template parsing error: template: :1:4: executing "" at <\.Nope>: can't evaluate field Nope in type \*formatter\.ContainerContext$/,
  );
  // Go's struct fields are case-sensitive (a map's lookup here is not).
  assert.throws(() => renderList(rows, '{{.id}}', '', {}, type), /can't evaluate field id in type/);
  // Inside range/with the dot is no longer a row: no type rule there.
  assert.equal(renderList([{ ID: 'a', Names: 'n' }], '{{with .Names}}{{.}}{{end}}', '', {}, type), 'n\n');
  // checkFirst: the template is run on an empty row first, so a bad field fails with no rows (docker's ps).
  assert.equal(renderList([], '{{.Nope}}', '', {}, type), '');
  assert.throws(
    () => renderList([], '{{.Nope}}', '', {}, { ...type, checkFirst: true }),
    /^WharfError: failed to execute template: template: :1:2: executing "" at <\.Nope>: can't evaluate field Nope/,
  );
  // Without a type (search, stats) a missing field still prints <no value>.
  assert.equal(renderList(rows, '{{.Nope}}', '', {}), '<no value>\n');
});

test('a method with arguments: {{.Label "k"}} calls the row\'s function; a table heads its column by the argument', () => {
  const rows = [{ Names: 'web', Label: (k: unknown) => ({ a: 'b' })[String(k)] ?? '' }];
  assert.equal(renderList(rows, '{{.Names}} {{.Label "a"}}|{{.Label "z"}}|', '', {}), 'web b||\n');
  assert.equal(
    renderList(rows, 'table {{.Names}}\t{{.Label "com.x"}}', '', { Names: 'NAMES' }),
    'NAMES     com.x\nweb       \n',
  );
  // Functions are not fields: JSON leaves them out, keys sorted.
  assert.equal(renderList(rows, 'json', '', {}), '{"Names":"web"}\n');
  assert.throws(() => renderList(rows, '{{.Names "x"}}', '', {}), /\.Names is not a function/);
});
