import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { extname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Command } from 'commander'
import type { Context } from '../context.js'
import { EXIT } from '../errors.js'
import { port } from '../parse.js'

// The HTTP service exactly as `npm start` runs it (src/server.ts), as a child
// process: its own configuration, logger, listener and graceful stop.

// node's arguments for src/server next to this module: dist/src/server.js when
// built, src/server.ts through tsx when run from the sources.
export function serverCommand(moduleUrl: string): string[] {
  const ext = extname(fileURLToPath(moduleUrl))
  const server = fileURLToPath(new URL(`../../server${ext}`, moduleUrl))
  if (ext === '.ts') return ['--import', pathToFileURL(createRequire(moduleUrl).resolve('tsx')).href, server]
  return [server]
}

export function registerService(program: Command, ctx: Context): void {
  program
    .command('service')
    .description('run the HTTP sidecar service (the monitor, /connection, /clusters, the admin API) until stopped')
    .option('--port <port>', 'listen on this port instead of PORT', port)
    .option('--host <address>', 'listen on this address instead of HOST')
    .action(
      ctx.action(async (opts: { port?: string; host?: string }) => {
        const env = { ...ctx.io.env, ...(opts.port === undefined ? {} : { PORT: opts.port }), ...(opts.host === undefined ? {} : { HOST: opts.host }) }
        // Its own process group: a terminal's Ctrl-C reaches only this process, which
        // passes on a single SIGTERM (the service exits at once on a second signal).
        const child = spawn(process.execPath, serverCommand(import.meta.url), { cwd: ctx.io.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
        child.stdout.pipe(ctx.io.stdout, { end: false })
        child.stderr.pipe(ctx.io.stderr, { end: false })
        const stop = () => child.kill('SIGTERM')
        ctx.io.signal?.addEventListener('abort', stop, { once: true })
        if (ctx.io.signal?.aborted === true) stop()
        const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
        ctx.io.signal?.removeEventListener('abort', stop)
        // No code: a signal ended it before the service could handle one.
        return code ?? EXIT.interrupted
      })
    )
}
