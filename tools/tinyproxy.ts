import { chown, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { foregroundServer, listening, onFreePort, postgresOwner } from './daemon.js'
import type { Teardown } from './stack.js'
import { waitFor } from './wait-for.js'

// Debian's tinyproxy on loopback: the egress proxy of a locked-down network. Its own
// connections leave from `bind` (127.0.0.3 unless told), so a server can tell a
// request that came through it from one that came direct.

const bin = '/usr/bin/tinyproxy'

export interface Tinyproxy {
  readonly port: number
  /** The address its connections to servers come from. */
  readonly bind: string
  /** http://127.0.0.1:port, with user:password when it asks for them. */
  url(credentials?: { user: string; password: string }): string
  /** Every request line it received (CONNECT host:port, or GET http://…), over its life. */
  requests(): string[]
  destroy(): Promise<void>
}

export async function startTinyproxy(t: Teardown, options: { bind?: string; basicAuth?: { user: string; password: string } } = {}): Promise<Tinyproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'pcr-tinyproxy-'))
  const conf = join(dir, 'tinyproxy.conf')
  const bind = options.bind ?? '127.0.0.3'
  const requests: string[] = []
  let port = 0
  const server = foregroundServer({
    name: 'tinyproxy',
    dir,
    command: bin,
    args: () => ['-d', '-c', conf],
    output: 'stdout',
    ready: 'done sending stored logs',
    stopSignal: 'SIGTERM',
    keepLines: 200,
    onLines: (lines) => {
      for (const line of lines) {
        const request = /: Request \(file descriptor \d+\): (.*)$/.exec(line)?.[1]
        if (request !== undefined) requests.push(request)
      }
    }
  })
  try {
    if (postgresOwner.uid !== undefined) await chown(dir, postgresOwner.uid, postgresOwner.gid)
    await onFreePort(async (free) => {
      port = free
      const auth = options.basicAuth === undefined ? [] : [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`]
      // No ConnectPort line: CONNECT is allowed to any port, as the emulator's is not 443.
      await writeFile(conf, [`Port ${port}`, 'Listen 127.0.0.1', `Bind ${bind}`, 'Allow 127.0.0.1', 'Timeout 60', 'LogLevel Connect', ...auth, ''].join('\n'))
      await server.launch()
      await waitFor('tinyproxy listening', () => listening(port), { timeoutMs: 5000 })
    })
  } catch (err) {
    await server.destroy()
    throw err
  }
  t.teardown(() => server.destroy())
  return {
    port,
    bind,
    url: (credentials) =>
      credentials === undefined ? `http://127.0.0.1:${port}` : `http://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}`,
    requests: () => [...requests],
    destroy: server.destroy
  }
}
