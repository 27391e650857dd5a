import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestRegistry } from '../../integration/registry/helpers.js';
import { selfSignedLoopbackCert } from '../../helpers/tls.js';

describe('registry TLS', () => {
  it('serves HTTPS from certificate and key files', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regtls-'));
    try {
      const { cert, key } = selfSignedLoopbackCert(dir);
      const r = await startTestRegistry({ http: { addr: '127.0.0.1:0', tls: { certificate: cert, key } } });
      try {
        assert.match(r.url, /^https:\/\/127\.0\.0\.1:\d+$/);
        const ca = await fsp.readFile(cert);
        const res = await new Promise<{ status: number; version: string | undefined }>((resolve, reject) => {
          https
            .get(`${r.url}/v2/`, { ca }, (m) => {
              m.resume();
              resolve({
                status: m.statusCode!,
                version: m.headers['docker-distribution-api-version'] as string | undefined,
              });
            })
            .on('error', reject);
        });
        assert.deepEqual(res, { status: 200, version: 'registry/2.0' });
        // Without trusting the certificate, the client refuses: the server really speaks TLS with that cert.
        await assert.rejects(new Promise((resolve, reject) => https.get(`${r.url}/v2/`, resolve).on('error', reject)));
      } finally {
        await r.stop();
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
