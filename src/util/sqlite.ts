import { createRequire } from 'node:module';

let binding: string | null | undefined;

/**
 * better-sqlite3's addon file, for `new Database(file, { nativeBinding })`. The CLI bundle carries better-sqlite3's
 * JavaScript, and its own lookup (`bindings`) probes paths next to the bundle, where the addon is not; undefined
 * when it cannot be resolved (better-sqlite3 then looks as usual).
 */
export function betterSqliteBinding(): string | undefined {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
    } catch {
      binding = null;
    }
  }
  return binding ?? undefined;
}
