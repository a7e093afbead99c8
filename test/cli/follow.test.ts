import t from 'tap'
import { PassThrough } from 'node:stream'
import type { Backend, OperationJson } from '../../src/cli/backend.js'
import { createContext } from '../../src/cli/context.js'
import { RemoteError } from '../../src/cli/errors.js'
import { follow } from '../../src/cli/follow.js'
import { waitingClock } from '../helpers/waiting-clock.js'

// Following an operation of hours (a failback re-seeds the original primary in
// full): a sidecar that does not answer for a while is asked again until the
// deadline; an answer that will not change (404) ends it at once.

function operation(status: OperationJson['status'], phase: string, progress: string): OperationJson {
  return {
    id: 'op-1',
    kind: 'failback',
    requested_by: 'test',
    status,
    phase,
    progress,
    stream_id: 's',
    started_at: '2026-01-05T10:00:00.000Z',
    updated_at: '2026-01-05T10:00:00.000Z',
    finished_at: status === 'running' ? null : '2026-01-05T13:00:00.000Z',
    error: null,
    steps: []
  }
}


function setup(answers: Array<OperationJson | Error>) {
  const printed: string[] = []
  const ctx = createContext({ env: {}, cwd: '/', stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), clock: waitingClock() })
  const backend = {
    pollMs: 60_000,
    async operation() {
      const next = answers.length > 1 ? answers.shift() : answers[0]
      if (next instanceof Error) throw next
      return next as OperationJson
    }
  } as unknown as Backend
  return { ctx, backend, printed, print: (line: string) => void printed.push(line) }
}

t.test('a sidecar that does not answer for a while is asked again', async (t) => {
  const unreachable = new RemoteError(0, 'unreachable', 'cannot reach the sidecar at http://sidecar:8080: ECONNREFUSED')
  const s = setup([
    operation('running', 'initial_scan', 'stream s is REPLICATING, initial scan'),
    unreachable,
    unreachable,
    new RemoteError(503, 'http_503', '/admin/operations/op-1: HTTP 503'),
    operation('running', 'catching_up', 'stream s is REPLICATING, lag 40 s'),
    operation('succeeded', 'done', 'stream s COMPLETED; a is active')
  ])
  const op = await follow(s.ctx, s.backend, 'op-1', { timeoutSeconds: 6 * 3600, print: s.print })
  t.equal(op.status, 'succeeded')
  t.same(
    s.printed.map((l) => l.replace(/^ *[\d.]+ s {2}/, '')),
    [
      'initial_scan  stream s is REPLICATING, initial scan',
      '(no answer: cannot reach the sidecar at http://sidecar:8080: ECONNREFUSED; still following)',
      '(no answer: /admin/operations/op-1: HTTP 503; still following)',
      'catching_up  stream s is REPLICATING, lag 40 s',
      'done  stream s COMPLETED; a is active'
    ]
  )
})

t.test('an unknown operation ends the following at once', async (t) => {
  const s = setup([new RemoteError(404, 'unknown_operation', '/admin/operations/op-1: no operation op-1')])
  await t.rejects(follow(s.ctx, s.backend, 'op-1', { timeoutSeconds: 3600, print: s.print }), { code: 'unknown_operation' })
})

t.test('a sidecar that never answers again: given up at the deadline, exit 3', async (t) => {
  const s = setup([operation('running', 'initial_scan', 'scanning'), new RemoteError(0, 'unreachable', 'cannot reach the sidecar')])
  await t.rejects(follow(s.ctx, s.backend, 'op-1', { timeoutSeconds: 3600, print: s.print }), {
    exitCode: 3,
    message: 'gave up following after 3600 s: operation op-1 could not be read: cannot reach the sidecar'
  })
})
