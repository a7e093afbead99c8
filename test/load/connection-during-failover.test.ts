import { performance } from 'node:perf_hooks'
import t from 'tap'
import { Client, Pool } from 'undici'
import { PRIMARY, STANDBY, admin, startFakeCloud, startService } from '../../tools/stack.js'

const CLIENTS = 200
// Each client stops after this many standby answers: enough to catch a flap back.
const STANDBY_ANSWERS = 5
// A failsafe so that a stuck failover fails the test instead of hanging it.
const DEADLINE_MS = 25_000

type Kind = 'primary' | 'failing_over' | 'standby' | 'other'
const rank: Record<Kind, number> = { primary: 0, failing_over: 1, standby: 2, other: 3 }

interface Answer {
  client: number
  seq: number
  kind: Kind
  // performance.now() when the request was sent and when its answer was read.
  sentAt: number
  receivedAt: number
  detail: string
}

// A body that is not JSON is a wrong answer, not a transport error.
function parsed(text: string): any {
  try {
    return JSON.parse(text)
  } catch {
    return {}
  }
}

t.test('200 clients asking for /connection through a failover', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: 1.5 } })
  // The emulator shares this busy event loop: its answers are slow, and the
  // checks (the one before the PATCH too) need more than the fast 1 s timeout.
  const svc = await startService(t, cloud, { HEALTH_CHECK_TIMEOUT: '5' })
  await svc.fastify.engine.nextCheck()

  let completedSeenAt = Infinity
  const off = svc.fastify.engine.onEvent((e) => {
    if (e.type === 'failover_completed') completedSeenAt = Math.min(completedSeenAt, performance.now())
  })
  t.teardown(off)

  const pool = new Pool(svc.url, { connections: CLIENTS })
  // Its own connection, outside the pool's queue of client requests.
  const probe = new Client(svc.url)
  t.teardown(async () => {
    await pool.destroy()
    await probe.destroy()
  })

  // Open every connection first: connections opened under load are starved by
  // the busy ones, and the clients would not all start together.
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const res = await pool.request({ path: '/health', method: 'GET' })
      await res.body.text()
    })
  )

  const started = performance.now()
  const answers: Answer[] = []
  const transportErrors: string[] = []
  let stop = false
  let withPrimary = 0
  let allHavePrimary!: () => void
  const everyClientSawPrimary = new Promise<void>((resolve) => (allHavePrimary = resolve))

  function classify(i: number, status: number, headers: Record<string, unknown>, body: any): Kind {
    if (headers['cache-control'] !== 'no-store') return 'other'
    if (status === 503) {
      return body.code === 'failing_over' && Number(headers['retry-after']) >= 1 ? 'failing_over' : 'other'
    }
    if (status !== 200 || !String(body.connection_string).startsWith(`postgresql://app${i}:pw${i}@`)) return 'other'
    if (body.cluster_id === PRIMARY && body.role === 'primary') return 'primary'
    if (body.cluster_id === STANDBY && body.role === 'standby') return 'standby'
    return 'other'
  }

  async function client(i: number) {
    let standbys = 0
    let sawPrimary = false
    for (let seq = 0; standbys < STANDBY_ANSWERS && !stop; seq++) {
      const sentAt = performance.now()
      try {
        const res = await pool.request({
          path: '/connection',
          method: 'GET',
          headers: { 'x-db-username': `app${i}`, 'x-db-password': `pw${i}` }
        })
        const text = await res.body.text()
        const receivedAt = performance.now()
        const kind = classify(i, res.statusCode, res.headers, parsed(text))
        answers.push({ client: i, seq, kind, sentAt, receivedAt, detail: `${res.statusCode} ${text}` })
        if (kind === 'standby') standbys++
        if (kind === 'primary' && !sawPrimary) {
          sawPrimary = true
          if (++withPrimary === CLIENTS) allHavePrimary()
        }
      } catch (err) {
        transportErrors.push(`client ${i} seq ${seq}: ${(err as Error).message}`)
      }
    }
  }

  const health: Array<{ status: number; phase: string }> = []
  async function healthLoop() {
    while (!stop) {
      try {
        const res = await probe.request({ path: '/health', method: 'GET' })
        const body = parsed(await res.body.text())
        health.push({ status: res.statusCode, phase: body.phase })
      } catch (err) {
        transportErrors.push(`health: ${(err as Error).message}`)
      }
    }
  }

  const deadline = setTimeout(() => (stop = true), DEADLINE_MS)
  const healthDone = healthLoop()
  const clients = Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)))

  // Fail over only once every client has been served the primary, so each one
  // walks the whole path.
  await Promise.race([everyClientSawPrimary, clients])
  const failoverSentAt = performance.now()
  const failover = await svc.post('/admin/failover', {}, admin)
  t.equal(failover.status, 202, JSON.stringify(failover.body))
  // Without a failover the clients would only run into the deadline.
  if (failover.status !== 202) stop = true
  await clients
  stop = true
  clearTimeout(deadline)
  await healthDone
  const duration = performance.now() - started

  t.same(transportErrors, [], 'no transport errors')

  const others = answers.filter((a) => a.kind === 'other')
  t.same(others.slice(0, 5), [], 'every answer is the primary, failing_over with Retry-After, or the standby')

  const byClient = new Map<number, Answer[]>()
  for (const a of answers) {
    const list = byClient.get(a.client) ?? []
    list.push(a)
    byClient.set(a.client, list)
  }
  const backwards: string[] = []
  const unfinished: number[] = []
  for (let i = 0; i < CLIENTS; i++) {
    const seen = (byClient.get(i) ?? []).sort((a, b) => a.seq - b.seq)
    for (let k = 1; k < seen.length; k++) {
      if (rank[seen[k]!.kind] < rank[seen[k - 1]!.kind]) {
        backwards.push(`client ${i}: seq ${seen[k - 1]!.seq} ${seen[k - 1]!.kind} then seq ${seen[k]!.seq} ${seen[k]!.detail}`)
      }
    }
    if (seen.filter((a) => a.kind === 'standby').length < STANDBY_ANSWERS) unfinished.push(i)
  }
  t.same(backwards.slice(0, 5), [], 'per client: primary* then failing_over* then standby*')
  t.same(unfinished, [], 'every client reached the standby')

  // Receive and decision times differ, so compare a request's send time with
  // another answer's receive time: what the server had decided before then.
  const firstStandbyAt = Math.min(...answers.filter((a) => a.kind === 'standby').map((a) => a.receivedAt))
  const lateAnswers = (after: number, kinds: Kind[]) =>
    answers
      .filter((a) => a.sentAt > after && kinds.includes(a.kind))
      .slice(0, 5)
      .map((a) => `client ${a.client} seq ${a.seq}: ${a.detail}`)
  t.same(lateAnswers(firstStandbyAt, ['primary', 'failing_over']), [], 'only the standby for requests sent after any client got it')
  t.ok(Number.isFinite(completedSeenAt), 'the failover completed')
  t.same(lateAnswers(completedSeenAt, ['primary', 'failing_over']), [], 'only the standby once COMPLETED was seen')
  t.same(
    answers.filter((a) => a.receivedAt < failoverSentAt && a.kind !== 'primary').slice(0, 5),
    [],
    'only the primary before the failover was asked for'
  )

  const count = (kind: Kind) => answers.filter((a) => a.kind === kind).length
  t.ok(count('failing_over') > 0, 'the failing-over window was observed')

  const unhealthy = health.filter((h) => h.status !== 200)
  t.same(unhealthy.slice(0, 5), [], '/health answered 200 throughout')

  t.comment(
    `${answers.length} answers in ${(duration / 1000).toFixed(1)} s: primary ${count('primary')}, ` +
      `failing_over ${count('failing_over')}, standby ${count('standby')}, other ${others.length}; ` +
      `${health.length} /health probes (${health.filter((h) => h.phase === 'failing_over').length} while failing over); failover asked at ${((failoverSentAt - started) / 1000).toFixed(2)} s, ` +
      `COMPLETED seen at ${((completedSeenAt - started) / 1000).toFixed(2)} s`
  )
})
