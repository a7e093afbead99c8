import { execFileSync } from 'node:child_process'
import { unusedPort } from './fake-sql-server.js'

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
export async function onFreePort<T>(launch: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await unusedPort())
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === 5) throw err
    }
  }
}
