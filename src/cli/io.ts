import { createInterface } from 'node:readline'
import type { Clock } from '../engine/engine.js'
import { CliError, EXIT, interrupted } from './errors.js'

// Everything the CLI touches outside itself, handed in: tests run it in-process
// with their own streams, environment, clock and stop signal.
export interface CliIo {
  env: Record<string, string | undefined>
  cwd: string
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  // Aborted on SIGINT/SIGTERM: long verbs stop, and the drill restores what it disrupted.
  signal?: AbortSignal
  clock: Clock
}

export interface Output {
  line(text?: string): void
  // Progress and prompts: on stderr, so that stdout stays parseable with --json.
  note(text: string): void
  json(value: unknown): void
}

export function createOutput(io: Pick<CliIo, 'stdout' | 'stderr'>): Output {
  return {
    line: (text = '') => void io.stdout.write(`${text}\n`),
    note: (text) => void io.stderr.write(`${text}\n`),
    json: (value) => void io.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
  }
}

// Columns padded to their widest cell; the last one is left ragged.
export function table(rows: string[][]): string[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd()
  )
}

// Waits on the injected clock; a stop signal cuts the wait short with exit 130.
export function sleep(io: Pick<CliIo, 'clock' | 'signal'>, ms: number): Promise<void> {
  return interruptible(io.signal, new Promise((resolve) => io.clock.setTimeout(resolve, ms)))
}

export function interruptible<T>(signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (signal === undefined) return work
  if (signal.aborted) return Promise.reject(interrupted())
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(interrupted())
    signal.addEventListener('abort', stop, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop))
  })
}

// Fails at once, before anything is read or changed, when a confirmation will be
// needed and nobody can give it: a script must say --yes.
export function assertCanConfirm(io: Pick<CliIo, 'stdin'>, yes: boolean, action: string): void {
  if (!yes && io.stdin.isTTY !== true) {
    throw new CliError(EXIT.usage, `refusing to ${action} without confirmation: stdin is not a terminal, pass --yes`)
  }
}

// A line typed at the terminal; '' when input ends first.
export function ask(io: Pick<CliIo, 'stdin' | 'stderr'>, question: string): Promise<string> {
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: false })
  return new Promise((resolve) => {
    rl.once('close', () => resolve(''))
    rl.question(question, (answer) => {
      resolve(answer.trim())
      rl.close()
    })
  })
}

// --yes, or the expected word typed at the terminal.
export async function confirm(
  io: Pick<CliIo, 'stdin' | 'stderr'>,
  options: { yes: boolean; action: string; warning: string; expected: string }
): Promise<void> {
  assertCanConfirm(io, options.yes, options.action)
  if (options.yes) return
  const answer = await ask(io, `${options.warning}\nType ${options.expected} to ${options.action}: `)
  if (answer !== options.expected) throw new CliError(EXIT.failed, `not confirmed (expected ${options.expected}); nothing was changed`)
}
