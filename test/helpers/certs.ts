import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Throwaway certificates made with openssl for one test run, in a directory of
// their own under tmpdir.

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' })

/** A self-signed certificate for 127.0.0.1. */
export function selfSigned(): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pcr-tls-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert
  ])
  return { dir, cert, key }
}

export interface CertificateAuthority {
  dir: string
  /** The CA's certificate (PEM file), which clients and servers trust. */
  ca: string
  /** A server certificate for 127.0.0.1 signed by the CA, and its key. */
  server: { cert: string; key: string }
  /** A client certificate signed by the CA, and its key. */
  client: { cert: string; key: string }
}

/** A CA of its own with one server certificate for 127.0.0.1 and one client certificate. */
export function certificateAuthority(): CertificateAuthority {
  const dir = mkdtempSync(join(tmpdir(), 'pcr-ca-'))
  const file = (name: string) => join(dir, name)
  openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=pcr-test-ca',
    '-keyout', file('ca-key.pem'), '-out', file('ca.pem')
  ])
  const issue = (name: string, subject: string, extensions: string) => {
    writeFileSync(file(`${name}.ext`), extensions)
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', file(`${name}-key.pem`), '-out', file(`${name}.csr`)])
    openssl([
      'x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca-key.pem'), '-CAcreateserial',
      '-days', '1', '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`)
    ])
    return { cert: file(`${name}.pem`), key: file(`${name}-key.pem`) }
  }
  return {
    dir,
    ca: file('ca.pem'),
    server: issue('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'),
    client: issue('client', '/CN=pcr-sidecar', 'extendedKeyUsage=clientAuth\n')
  }
}
