import { WharfError } from '../errors/index.js';
import type { Challenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { registryError } from './errors.js';
import { readBody, type HttpResponse, type RoundTrip } from './transport.js';

/** A bearer token from a token service, with when it stops being valid. */
export interface Token {
  token: string;
  expiresAt: number;
}

const MAX_TOKEN_RESPONSE = 1 << 20;

/**
 * Asks a token service (the `realm` of a Bearer challenge) for a token for `scopes`: GET with Basic credentials (or
 * none, for an anonymous token), or the OAuth2 refresh-token POST when the credentials hold an identity token.
 */
export async function fetchToken(
  challenge: Challenge,
  scopes: readonly string[],
  creds: Credentials | undefined,
  io: { send: RoundTrip; tlsVerify: boolean; registry: string },
): Promise<Token> {
  const realm = challenge.params.realm;
  if (!realm) throw new WharfError('UNAVAILABLE', `registry ${io.registry} sent a Bearer challenge without a realm`);
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new WharfError('UNAVAILABLE', `registry ${io.registry} sent an invalid token realm ${JSON.stringify(realm)}`);
  }
  const service = challenge.params.service;
  let res: HttpResponse;
  if (creds?.identityToken) {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: creds.identityToken,
      client_id: 'wharf',
    });
    if (service) form.set('service', service);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    res = await io.send({
      url,
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(form.toString()),
      tlsVerify: io.tlsVerify,
    });
  } else {
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    if (creds?.username) url.searchParams.set('account', creds.username);
    const headers: Record<string, string> = {};
    if (creds?.username !== undefined || creds?.password !== undefined) headers.Authorization = basicAuth(creds);
    res = await io.send({ url, method: 'GET', headers, tlsVerify: io.tlsVerify });
  }
  const body = await readBody(res, MAX_TOKEN_RESPONSE, 'token response');
  if (res.status === 401) {
    throw new WharfError(
      'UNAUTHORIZED',
      `${io.registry}: unauthorized: ${creds ? 'incorrect username or password' : 'authentication required'}`,
      {
        details: { status: 401 },
      },
    );
  }
  if (res.status !== 200) throw registryError(res.status, body, `getting a token from ${url.host} for ${io.registry}`);
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8')) as typeof doc;
  } catch {
    throw new WharfError('UNAVAILABLE', `token service ${url.host} answered with invalid JSON`);
  }
  const token =
    typeof doc.token === 'string' && doc.token
      ? doc.token
      : typeof doc.access_token === 'string'
        ? doc.access_token
        : '';
  if (!token) throw new WharfError('UNAVAILABLE', `token service ${url.host} answered without a token`);
  // The spec's default lifetime is 60 s; renew a little early so a token never expires in flight.
  const expiresIn = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
  const issued = typeof doc.issued_at === 'string' ? Date.parse(doc.issued_at) : NaN;
  const start = Number.isFinite(issued) && Math.abs(issued - Date.now()) < 300_000 ? issued : Date.now();
  return { token, expiresAt: start + Math.max(expiresIn - 10, expiresIn / 2) * 1000 };
}

export function basicAuth(creds: Credentials): string {
  return 'Basic ' + Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64');
}
