import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate } from '../../../src/cli/go-template.js';

const dot = {
  Os: 'linux',
  Name: 'web',
  Empty: '',
  N: 2,
  List: ['a', 'b', 'c'],
  Labels: { 'com.x': '1', app: 'web' },
  State: { Status: 'exited', Running: false },
  NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2' }, n1: { IPAddress: '10.0.0.3' } } },
};
const render = (src: string) => compileTemplate(src).render(dot);

test("Go's comparison and logic functions, as scripts use them with docker's --format", () => {
  const rows: Array<[string, string]> = [
    ['{{if eq .Os "linux"}}yes{{end}}', 'yes'],
    ['{{if eq .N 1 2 3}}one of{{end}}', 'one of'],
    ['{{if ne .Os "windows"}}not windows{{end}}', 'not windows'],
    ['{{lt 1 2}} {{le 2 2}} {{gt .N 3}} {{ge "b" "a"}}', 'true true false true'],
    ['{{if and .Os (not .Empty)}}both{{end}}', 'both'],
    ['{{and .Os .Empty "x"}}|{{or .Empty .Missing "fallback"}}', '|fallback'],
    ['{{if gt (len .List) 2}}many{{end}}', 'many'],
    ['{{if eq .State.Status "running"}}up{{else if eq .State.Status "exited"}}down{{else}}?{{end}}', 'down'],
    ['{{if .State.Running}}up{{else with .State.Status}}{{.}}{{end}}', 'exited'],
    ['{{.Os|upper}}', 'LINUX'],
  ];
  for (const [src, want] of rows) assert.equal(render(src), want, src);
});

test('printf with the verbs, flags and widths scripts use', () => {
  assert.equal(render('{{printf "%s-%d" .Os .N}}'), 'linux-2');
  assert.equal(render('{{.Os | printf "%q"}}'), '"linux"');
  assert.equal(
    render('{{printf "[%5s|%-5s|%05d|%.2f|%t|%x|%v%%]" "a" "b" 42 3.14159 true 255 .List}}'),
    '[    a|b    |00042|3.14|true|ff|[a b c]%]',
  );
  assert.equal(render('{{printf "%s %s" .Os}}'), 'linux %!s(MISSING)');
});

test('variables: $ (the root), declarations, range over maps and lists with key and value', () => {
  assert.equal(render('{{$x := .Os}}[{{$x}}]'), '[linux]');
  assert.equal(render('{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}'), 'app=web;com.x=1;');
  assert.equal(render('{{range $i, $e := .List}}{{$i}}:{{$e}} {{end}}'), '0:a 1:b 2:c ');
  assert.equal(render('{{range $e := .List}}{{$e}}{{end}}'), 'abc');
  assert.equal(render('{{range .List}}{{.}}@{{$.Name}} {{end}}'), 'a@web b@web c@web ');
  assert.equal(render('{{with $n := .Name}}{{$n}}/{{.}}{{end}}'), 'web/web');
  assert.equal(
    render('{{range $name, $net := .NetworkSettings.Networks}}{{$name}} {{$net.IPAddress}} {{end}}'),
    'bridge 172.17.0.2 n1 10.0.0.3 ',
  );
  assert.equal(render('{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}'), '172.17.0.2 10.0.0.3 ');
  assert.throws(() => render('{{$nope}}'), /undefined variable "\$nope"/);
  assert.equal(render('{{index .Labels "com.x"}}'), '1');
});

test("Go's slice, html, js, urlquery and call", () => {
  assert.equal(render('{{slice .Os 1 3}} {{slice .List 1}}'), 'in [b c]');
  assert.equal(render('{{html "<a href=\'x\'>&</a>"}}'), '&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(render('{{js "it\'s <b>"}}'), "it\\'s \\u003Cb\\u003E");
  assert.equal(render('{{urlquery "a b&c"}}'), 'a+b%26c');
  assert.equal(compileTemplate('{{call .F 2}}').render({ F: (n: number) => n * 21 }), '42');
});
