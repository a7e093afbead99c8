import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { listening, onFreePort, PortTaken } from './daemon.js'
import type { Teardown } from './stack.js'
import { waitFor } from './wait-for.js'

// The committed proxy/haproxy/haproxy.cfg run by a real HAProxy in the
// foreground, on a free loopback port, with only the environment a test gives.

export const haproxyBin = '/usr/sbin/haproxy'
export const haproxyConfig = fileURLToPath(new URL('../proxy/haproxy/haproxy.cfg', import.meta.url))

export interface Haproxy {
  readonly host: '127.0.0.1'
  readonly port: number
  /** What HAProxy printed (its log and its alerts), for failure messages. */
  output(): string
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()

// A proxy a test could not stop must not outlive the test process.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

async function launch(env: Record<string, string>, port: number, lines: string[]): Promise<ChildProcess> {
  lines.length = 0
  const child = spawn(haproxyBin, ['-db', '-f', haproxyConfig], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, HAPROXY_SQL_BIND: `127.0.0.1:${port}` },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  running.add(child)
  const collect = (chunk: string) => {
    lines.push(...chunk.split('\n').filter((line) => line !== ''))
    lines.splice(0, lines.length - 5000)
  }
  child.stdout?.setEncoding('utf8').on('data', collect)
  child.stderr?.setEncoding('utf8').on('data', collect)
  child.once('exit', () => running.delete(child))
  const exited = new AbortController()
  child.once('close', () => exited.abort(new Error('HAProxy exited')))
  try {
    await waitFor(`HAProxy listening on 127.0.0.1:${port}`, () => listening(port), { timeoutMs: 15_000, signal: exited.signal })
  } catch (err) {
    child.kill('SIGKILL')
    const why = `${(err as Error).message}:\n${lines.join('\n')}`
    throw /Address already in use/.test(why) ? new PortTaken(why) : new Error(why)
  }
  return child
}

/** Starts HAProxy with `env` (HAPROXY_SQL_BIND is chosen here); stopped at the end of the test. */
export async function startHaproxy(t: Teardown, env: Record<string, string>): Promise<Haproxy> {
  const lines: string[] = []
  let port = 0
  const started = await onFreePort((free) => {
    port = free
    return launch(env, free, lines)
  })
  const stop = async () => {
    if (!running.has(started)) return
    const exited = new Promise((resolve) => started.once('exit', resolve))
    started.kill('SIGTERM')
    await exited
  }
  t.teardown(stop)
  return { host: '127.0.0.1', port, output: () => lines.join('\n'), stop }
}
