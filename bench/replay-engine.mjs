// Benchmark helper (not a test, not part of Wharf): the fastest Engine API server there can be for one call. It
// answers `/_ping` and `GET …/containers/json` with a body recorded beforehand, from memory, at once. The docker CLI
// timed against it is the floor of `docker ps -a` for that body: its own start-up, /_ping, reading and formatting the
// list. bench/api.sh compares that floor with dockerd's whole `ps -a` to show how low any server's ratio can go.
// Usage: node bench/replay-engine.mjs SOCKET BODY_FILE API_VERSION
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';

const [socket, bodyFile, apiVersion] = process.argv.slice(2);
if (!socket || !bodyFile || !apiVersion) {
  console.error('usage: node bench/replay-engine.mjs SOCKET BODY_FILE API_VERSION');
  process.exit(2);
}
const body = readFileSync(bodyFile);
const common = { 'Api-Version': apiVersion, Ostype: 'linux', Server: 'replay (linux)', 'Docker-Experimental': 'false' };
rmSync(socket, { force: true });
createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0] ?? '';
  if (path === '/_ping') {
    res.writeHead(200, {
      ...common,
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': req.method === 'HEAD' ? 0 : 2,
    });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  } else if (req.method === 'GET' && /^(\/v[0-9.]+)?\/containers\/json$/.test(path)) {
    res.writeHead(200, { ...common, 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  } else {
    res.writeHead(404, { ...common, 'Content-Type': 'application/json' });
    res.end('{"message":"not recorded"}\n');
  }
}).listen(socket);
