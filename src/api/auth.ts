import { WharfError, is } from '../errors/index.js';
import { RegistryClient, registryFromServerArg } from '../remote/index.js';
import { readJson, sendJson, type ApiRequest } from './context.js';

/**
 * POST /auth `{"username","password","serveraddress"}`: checks the credentials against the registry (its `/v2/`
 * with them) and stores nothing: the docker CLI keeps them in its own config.json, as with dockerd.
 */
export async function authHandler(r: ApiRequest): Promise<void> {
  const body = await readJson<{ username?: string; password?: string; serveraddress?: string }>(r.req);
  if (!body.username) throw new WharfError('INVALID_ARGUMENT', 'Username is required');
  const domain = registryFromServerArg(body.serveraddress);
  const creds = { username: body.username, password: body.password ?? '' };
  const client = RegistryClient.forDomain(domain, {
    insecureRegistries: r.server.insecureRegistries,
    credentials: { get: async () => creds },
  });
  try {
    await client.checkLogin();
  } catch (err) {
    if (is(err, 'UNAUTHORIZED') || is(err, 'DENIED'))
      throw new WharfError(
        'UNAUTHORIZED',
        `login attempt to ${domain} failed: unauthorized: incorrect username or password`,
      );
    throw err;
  } finally {
    client.close();
  }
  sendJson(r.res, 200, { IdentityToken: '', Status: 'Login Succeeded' });
}
