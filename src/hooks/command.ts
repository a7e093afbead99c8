import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import type { Readable } from 'node:stream'
import { oneLine, type HookLog, type Outcome, type Sink } from './outcome.js'
import { eventEnv, type HookPayload } from './payload.js'

// Runs ON_FAILOVER_COMMAND through /bin/sh with the payload on stdin and as
// PCR_* variables. A command is not retried: it may not be idempotent (a page, a
// ticket), and one that failed would most likely fail the same way again.

// What the command inherits of the sidecar's environment: enough to run a program,
// and what the operator names (HOOK_ENV_PASSTHROUGH). The rest, the sidecar's own
// credentials above all, is none of its business.
export const inheritedVariables = ['PATH', 'HOME', 'LANG', 'TZ']

export interface CommandOptions {
  command: string
  timeoutMs: number
  log: HookLog
  /** Variables passed on besides inheritedVariables. */
  passthrough: readonly string[]
  /** The environment they are taken from (the sidecar's own by default). */
  env?: NodeJS.ProcessEnv
  shell?: string
}

// Of each stream, enough for a log line.
const outputLimitBytes = 8192

interface Captured {
  text(): string
}

// Keeps the first `limit` bytes and reads (and discards) the rest, so a chatty
// command neither fills memory nor blocks on a full pipe.
function capture(stream: Readable, limit: number): Captured {
  const kept = Buffer.alloc(limit)
  let length = 0
  let truncated = false
  stream.on('data', (chunk: Buffer) => {
    const copied = chunk.copy(kept, length)
    length += copied
    truncated ||= copied < chunk.length
  })
  return { text: () => kept.subarray(0, length).toString('utf8') + (truncated ? ' [truncated]' : '') }
}

export function createCommandRunner(options: CommandOptions): Sink {
  const from = options.env ?? process.env
  const inherited = Object.fromEntries(
    [...inheritedVariables, ...options.passthrough].flatMap((name) => (from[name] === undefined ? [] : [[name, from[name]]]))
  )

  function deliver(payload: HookPayload, signal: AbortSignal): Promise<Outcome> {
    const context = { hook: 'command', eventId: payload.event.id, eventType: payload.event.type }
    const startedAt = performance.now()
    const cannotStart = (error: Error): Outcome => ({ status: 'failed', attempts: 1, reason: oneLine(`could not start the command: ${error.message}`) })
    let child: ChildProcessWithoutNullStreams
    try {
      // Its own process group, so the time limit reaches whatever the shell started.
      child = spawn(options.shell ?? '/bin/sh', ['-c', options.command], {
        env: { ...inherited, ...eventEnv(payload) },
        stdio: 'pipe',
        detached: true
      })
    } catch (error) {
      // Some refusals (an environment too large for exec) are thrown rather than emitted.
      return Promise.resolve(cannotStart(error as Error))
    }
    return new Promise((resolve) => {
      const stdout = capture(child.stdout, outputLimitBytes)
      const stderr = capture(child.stderr, outputLimitBytes)
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
      // Why it was killed before it exited, if it was.
      let cut: 'timeout' | 'abort' | undefined
      let settled = false
      const settle = (outcome: Outcome) => {
        settled = true
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        // Whatever still holds the pipes no longer holds this delivery.
        child.stdout.destroy()
        child.stderr.destroy()
        resolve(outcome)
      }
      const finish = () => {
        if (settled) return
        const { code, signal: killedBy } = exit as NonNullable<typeof exit>
        const out = stdout.text()
        const err = stderr.text()
        if (out !== '') options.log.info({ ...context, stdout: out }, 'command output')
        if (err !== '') options.log.warn({ ...context, stderr: err }, 'command error output')
        options.log.info({ ...context, code, signal: killedBy, durationMs: Math.round(performance.now() - startedAt) }, 'command finished')
        if (cut === 'abort') return settle({ status: 'abandoned', attempts: 1 })
        if (cut === 'timeout') return settle({ status: 'failed', attempts: 1, reason: `no exit within ${options.timeoutMs / 1000} s; killed` })
        if (code === 0) return settle({ status: 'delivered', attempts: 1 })
        const lastLine = err.trim().split('\n').pop() as string
        const how = code === null ? `killed by ${killedBy}` : `exited with code ${code}`
        settle({ status: 'failed', attempts: 1, reason: oneLine(lastLine === '' ? how : `${how}: ${lastLine}`) })
      }
      // At the deadline (or shutdown) the whole group goes, and the run ends even
      // if something that left the group still holds the pipes. A shell that had
      // already exited cleanly is no failure: only what it left behind is ended.
      const stop = (why: 'timeout' | 'abort') => {
        if (exit === undefined) cut = why
        try {
          process.kill(-(child.pid as number), 'SIGKILL')
        } catch {
          // Nothing is left in the group.
        }
        if (exit !== undefined) finish()
      }
      const timer = setTimeout(() => stop('timeout'), options.timeoutMs)
      const onAbort = () => stop('abort')
      signal.addEventListener('abort', onAbort, { once: true })
      // A command that does not read its stdin closes the pipe early: not a failure.
      child.stdin.on('error', () => undefined)
      child.stdin.end(JSON.stringify(payload))
      // Only a failure to start is reported this way: nothing here kills through the
      // ChildProcess or talks to it over IPC.
      child.on('error', (error) => settle(cannotStart(error)))
      child.on('exit', (code, killedBy) => {
        exit = { code, signal: killedBy }
        if (cut !== undefined) finish()
      })
      child.on('close', finish)
    })
  }

  return { name: 'command', deliver, close: async () => undefined }
}
