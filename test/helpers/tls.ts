/** A throw-away self-signed certificate for 127.0.0.1 (EC P-256, one day), for TLS tests on loopback. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export function selfSignedLoopbackCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/**
 * A throw-away CA and two certificates it signed (EC P-256, one day): the server's for 127.0.0.1 and a client's
 * (extendedKeyUsage clientAuth), as `dockerd --tlsverify` and `docker --tlsverify` use them.
 */
export function caWithServerAndClient(dir: string): {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
} {
  const p = (f: string) => path.join(dir, f);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca-key.pem'),
    '-out',
    p('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=wharf test CA',
  ]);
  const signed = (name: string, subj: string, ext: string) => {
    run(['req', ...ec, '-keyout', p(`${name}-key.pem`), '-out', p(`${name}.csr`), '-subj', subj]);
    execFileSync(
      'sh',
      [
        '-c',
        `printf '%s\\n' "${ext}" > ${p(`${name}.ext`)} && openssl x509 -req -in ${p(`${name}.csr`)} -CA ${p('ca.pem')} -CAkey ${p('ca-key.pem')} -CAcreateserial -out ${p(`${name}-cert.pem`)} -days 1 -extfile ${p(`${name}.ext`)}`,
      ],
      { stdio: 'ignore' },
    );
  };
  signed('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  signed('client', '/CN=client', 'extendedKeyUsage=clientAuth');
  return {
    ca: p('ca.pem'),
    serverCert: p('server-cert.pem'),
    serverKey: p('server-key.pem'),
    clientCert: p('client-cert.pem'),
    clientKey: p('client-key.pem'),
  };
}
