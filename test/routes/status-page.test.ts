import t from 'tap'
import { DEFAULT_API_KEY } from '../../src/emulator/seed.js'
import { ADMIN_TOKEN, startFakeCloud, startService } from '../../tools/stack.js'

t.test('GET / serves the status page and its two files, from this service only', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  const page = await svc.get('/')
  t.equal(page.status, 200)
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/)
  t.match(page.headers['content-security-policy'], /frame-ancestors 'none'/)
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  const html = page.body as string
  t.match(html, /<html lang="en">/)
  // 3 × (HEALTH_CHECK_INTERVAL 0.05 + HEALTH_CHECK_TIMEOUT 1) s, the rule of /health.
  t.match(html, /<meta name="pcr-stale-after-ms" content="3150">/)

  const referenced = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string)
  t.same(referenced.filter((r) => r.startsWith('status-page/')), ['status-page/page.css', 'status-page/page.js'])
  t.notOk(referenced.some((r) => /^(https?:)?\/\//.test(r)), 'nothing from another origin')
  t.ok(referenced.includes('data:,'), 'an empty favicon, so no request for one')
  const types: Record<string, RegExp> = { 'status-page/page.css': /^text\/css/, 'status-page/page.js': /^text\/javascript/ }
  const bodies = [html]
  for (const [path, type] of Object.entries(types)) {
    const file = await svc.get(`/${path}`)
    t.equal(file.status, 200, path)
    t.match(file.headers['content-type'], type)
    t.equal(file.headers['cache-control'], 'no-cache')
    bodies.push(file.body as string)
  }
  for (const body of bodies) {
    t.notOk(body.includes(ADMIN_TOKEN) || body.includes(DEFAULT_API_KEY), 'no secret in the page')
    t.notMatch(body.replace('http://www.w3.org/2000/svg', ''), /https?:\/\//, 'no absolute URL: it works offline and behind a path prefix')
  }
})
