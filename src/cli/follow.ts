import type { Backend, FailbackFullJson, FailoverJson, OperationJson } from './backend.js'
import type { Context } from './context.js'
import { CliError, EXIT, messageOf, transientError } from './errors.js'
import { planText } from './format.js'

// Follows an operation (a failover or failback) until it ends: one line per change
// of phase or progress, with the seconds since following began. A sidecar that does
// not answer for a while (a restart of its pod, a 5xx) is asked again until the timeout.
export async function follow(
  ctx: Context,
  backend: Backend,
  id: string,
  options: { timeoutSeconds: number; print(line: string): void }
): Promise<OperationJson> {
  const started = ctx.io.clock.now()
  const elapsed = () => (ctx.io.clock.now() - started) / 1000
  let last = ''
  for (;;) {
    let op: OperationJson
    try {
      op = await backend.operation(id)
    } catch (err) {
      if (!transientError(err)) throw err
      if (elapsed() > options.timeoutSeconds) {
        throw new CliError(EXIT.unreachable, `gave up following after ${options.timeoutSeconds} s: operation ${id} could not be read: ${messageOf(err)}`)
      }
      const line = `(no answer: ${messageOf(err)}; still following)`
      if (line !== last) options.print(`${elapsed().toFixed(1).padStart(7)} s  ${line}`)
      last = line
      await ctx.sleep(backend.pollMs)
      continue
    }
    const line = `${op.phase}  ${op.status === 'failed' ? `failed: ${op.error}` : op.progress}`.trimEnd()
    if (line !== last) options.print(`${elapsed().toFixed(1).padStart(7)} s  ${line}`)
    last = line
    if (op.status !== 'running') return op
    if (elapsed() > options.timeoutSeconds) {
      throw new CliError(EXIT.failed, `gave up following after ${options.timeoutSeconds} s: operation ${id} is still ${op.phase} (${op.progress})`)
    }
    await ctx.sleep(backend.pollMs)
  }
}

// An operation started on its own (a full failback, a switchover): start it, follow it to the
// end, and say how it ended; `ended` adds what that kind of operation reports.
export async function startOperationAndFollow(
  ctx: Context,
  backend: Backend,
  options: { what: string; json: boolean; timeoutSeconds: number; start(): Promise<FailbackFullJson>; ended?(op: OperationJson, print: (line: string) => void): void }
): Promise<number> {
  // With --json only the JSON goes to stdout; progress goes to stderr.
  const print = options.json ? ctx.out.note : ctx.out.line
  const { operation } = await options.start()
  print(`${options.what} started: operation ${operation.id}`)
  const op = await follow(ctx, backend, operation.id, { timeoutSeconds: options.timeoutSeconds, print })
  if (options.json) ctx.out.json(op)
  options.ended?.(op, print)
  if (op.status === 'failed') throw new CliError(EXIT.failed, `${options.what} failed: ${op.error}`)
  print(`${options.what} completed: ${op.progress}`)
  return EXIT.ok
}

// A failover or failback initiate: start it, follow it to the end, and say how it ended.
export async function startAndFollow(
  ctx: Context,
  backend: Backend,
  options: { what: string; json: boolean; timeoutSeconds: number; start(): Promise<FailoverJson> }
): Promise<number> {
  // With --json only the JSON goes to stdout; progress goes to stderr.
  const print = options.json ? ctx.out.note : ctx.out.line
  const started = await options.start()
  print(`${options.what} ${started.outcome}: ${planText(started)}`)
  const op = await follow(ctx, backend, started.operation_id as string, { timeoutSeconds: options.timeoutSeconds, print })
  if (options.json) ctx.out.json({ ...started, operation: op })
  if (op.status === 'failed') throw new CliError(EXIT.failed, `${options.what} failed: ${op.error}`)
  print(`${options.what} completed: ${op.progress}`)
  return EXIT.ok
}
