import t from 'tap'
import fc from 'fast-check'
import { Pool } from 'undici'
import { admin, startFakeCloud, startService } from '../../tools/stack.js'
import { answerProblems } from '../helpers/own-spec.js'

// The limits are set on purpose: bodies over 16 KiB (serverOptions.bodyLimit)
// get 413, headers over Node's 16 KiB get 431; neither is a fault of ours.

t.test('oversized bodies get 413 and oversized headers 431, and the service goes on', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  const pool = new Pool(svc.url)
  t.teardown(() => pool.close())
  const send = async (path: string, headers: Record<string, string>, body?: string) => {
    const res = await pool.request({ method: body === undefined ? 'GET' : 'POST', path, headers, body, reset: true })
    return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), text: await res.body.text() }
  }

  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('/admin/failover', '/admin/failback', '/admin/simulate', '/admin/pause'),
      fc.integer({ min: 16 * 1024 + 1, max: 64 * 1024 }),
      async (path, size) => {
        // Valid auth, so the body limit and not the token is what refuses it.
        const body = JSON.stringify({ dry_run: true, pad: 'x'.repeat(size) })
        const answer = await send(path, { ...admin, 'content-type': 'application/json' }, body)
        return answer.status === 413 && answerProblems('POST', path, answer.status, answer.type, answer.text).length === 0
      }
    ),
    { numRuns: 30, seed: 20_261_128 }
  )

  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('/health', '/connection', '/clusters', '/events'),
      fc.integer({ min: 17 * 1024, max: 64 * 1024 }),
      fc.constantFrom('x-db-password', 'authorization', 'cookie', 'x-padding'),
      async (path, size, name) => {
        const answer = await send(path, { [name]: 'y'.repeat(size) })
        return answer.status === 431 && answerProblems('GET', path, answer.status, answer.type, answer.text).length === 0 && !answer.text.includes('yyyyyy')
      }
    ),
    { numRuns: 30, seed: 20_261_129 }
  )

  t.equal((await svc.get('/health')).status, 200, 'still answering')
})
