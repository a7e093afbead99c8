import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'
import { unusedPort } from './unused-port.js'

// What the helpers that run a real server (PostgreSQL, PgBouncer, HAProxy) share.

// PostgreSQL and PgBouncer refuse to run as root, so as root they run as the postgres user.
export const postgresOwner: { uid: number; gid: number } | { uid?: undefined; gid?: undefined } =
  process.getuid?.() === 0
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
        gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
      }
    : {}

/** A launch failed because another process bound the port first. */
export class PortTaken extends Error {}

/** Runs `launch` on a free loopback port, picking another when the port was taken meanwhile. */
export function onFreePort<T>(launch: (port: number) => Promise<T>): Promise<T> {
  return onFreePorts(1, (ports) => launch(ports[0] as number))
}

/** Runs `launch` on `count` distinct free loopback ports, picking others when one was taken meanwhile. */
export async function onFreePorts<T>(count: number, launch: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = new Set<number>()
    while (ports.size < count) ports.add(await unusedPort())
    try {
      return await launch([...ports])
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === 5) throw err
    }
  }
}

/** Whether something accepts connections on this loopback port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
