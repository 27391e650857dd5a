/** One `WWW-Authenticate` challenge: scheme (lower case) and its auth-params. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `WWW-Authenticate` (RFC 7235): `Bearer realm="https://auth/token",service="reg",scope="repository:x:pull"`;
 * several challenges may share one header.
 */
export function parseChallenges(value: string | string[] | undefined): Challenge[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(', ') : value;
  const out: Challenge[] = [];
  let i = 0;
  let current: Challenge | undefined;
  const skipWs = () => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  while (i < text.length) {
    skipWs();
    const tokenMatch = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(text.slice(i));
    if (!tokenMatch) break;
    const token = tokenMatch[0];
    i += token.length;
    let j = i;
    while (j < text.length && text[j] === ' ') j++;
    if (text[j] === '=') {
      // an auth-param of the current challenge
      i = j + 1;
      while (i < text.length && text[i] === ' ') i++;
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++;
          value += text[i];
          i++;
        }
        i++;
      } else {
        const m = /^[^,\s]*/.exec(text.slice(i))!;
        value = m[0];
        i += value.length;
      }
      if (current) current.params[token.toLowerCase()] = value;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** `repository:NAME:pull,push` as Docker's token protocol wants it. */
export function repositoryScope(name: string, actions: string): string {
  return `repository:${name}:${actions}`;
}

/** The catalog scope that guarded registries want for `_catalog` (and some for search). */
export const CATALOG_SCOPE = 'registry:catalog:*';

/** The challenge a client answers: Bearer when offered, else Basic, else none it can use. */
export function usableChallenge(value: string | string[] | undefined): Challenge | undefined {
  const ch = parseChallenges(value);
  return ch.find((c) => c.scheme === 'bearer') ?? ch.find((c) => c.scheme === 'basic');
}
