import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

// The front end is pure: it may import its own files, errors/ and the pure Go-duration file, nothing else (not even node:).
test('src/dockerfile imports only itself, errors/ and util/duration.ts', () => {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/dockerfile');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 5);
  for (const f of files) {
    const src = readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g)) {
      const spec = m[1]!;
      assert.ok(
        /^\.\/[a-z-]+\.js$/.test(spec) || spec === '../errors/index.js' || spec === '../util/duration.js',
        `${f} imports ${spec}`,
      );
    }
  }
});
