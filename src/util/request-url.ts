/**
 * An HTTP request's target as a URL, for the two servers (the Engine API and the registry). `new URL(target, base)`
 * reads a target that starts with `//` as a network-path reference (`//host/path`), and throws on `//` or
 * `//sha512:zz`, which a client can send: a TypeError out of a request handler (the registry's is not inside a
 * try). The target of an origin-form request is always a path, so it is put after the origin instead.
 */
export function requestUrl(target: string | undefined, origin: string): URL | undefined {
  const t = target ?? '/';
  try {
    return new URL(t.startsWith('/') ? `${origin}${t}` : t, origin);
  } catch {
    return undefined;
  }
}
