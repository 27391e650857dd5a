import { problem } from './errors.js';

type FlagKind = 'bool' | 'string' | 'strings';

/**
 * The `--name=value` flags of one instruction (the BuildKit `BFlags` idea): declare what the
 * keyword accepts, then `parse()` rejects unknown, duplicate and malformed flags.
 */
export class FlagSet {
  private readonly kinds = new Map<string, FlagKind>();
  private readonly values = new Map<string, string[]>();

  constructor(private readonly raw: readonly string[]) {}

  bool(name: string): this {
    this.kinds.set(name, 'bool');
    return this;
  }
  string(name: string): this {
    this.kinds.set(name, 'string');
    return this;
  }
  strings(name: string): this {
    this.kinds.set(name, 'strings');
    return this;
  }

  parse(): this {
    for (const arg of this.raw) {
      if (!arg.startsWith('--')) throw problem(`flag should start with --: ${arg}`);
      if (arg === '--') break;
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const value = eq >= 0 ? arg.slice(eq + 1) : undefined;
      const kind = this.kinds.get(name);
      if (!kind) throw problem(`unknown flag: --${name}`);
      const seen = this.values.get(name);
      if (seen && kind !== 'strings') throw problem(`duplicate flag specified: --${name}`);
      switch (kind) {
        case 'bool': {
          if (value === '') throw problem(`missing a value on flag: --${name}`);
          const v = (value ?? 'true').toLowerCase();
          if (v !== 'true' && v !== 'false') throw problem(`expecting boolean value for flag --${name}, not: ${value}`);
          this.values.set(name, [v]);
          break;
        }
        case 'string':
        case 'strings':
          if (value === undefined) throw problem(`missing a value on flag: --${name}`);
          this.values.set(name, [...(seen ?? []), value]);
          break;
      }
    }
    return this;
  }

  isSet(name: string): boolean {
    return this.values.has(name);
  }
  getBool(name: string): boolean {
    return this.values.get(name)?.[0] === 'true';
  }
  getString(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }
  getStrings(name: string): string[] {
    return [...(this.values.get(name) ?? [])];
  }
  /** Flag names that were given, in declaration order. */
  used(): string[] {
    return [...this.kinds.keys()].filter((k) => this.values.has(k));
  }
}
