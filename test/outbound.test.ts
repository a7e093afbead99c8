import t from 'tap'
import { proxyFor, routeOf } from '../src/outbound.js'

const proxies = { httpsProxy: 'http://proxy.internal:3128', httpProxy: 'http://plain-proxy.internal:3128' }
const via = (url: string, noProxy?: string) => proxyFor(new URL(url), { ...proxies, noProxy })

t.test('HTTPS_PROXY for https, HTTP_PROXY for http, none without them', async (t) => {
  t.equal(via('https://cockroachlabs.cloud'), proxies.httpsProxy)
  t.equal(via('http://127.0.0.1:8080'), proxies.httpProxy)
  t.equal(proxyFor(new URL('https://cockroachlabs.cloud'), { httpProxy: proxies.httpProxy }), undefined)
})

t.test('NO_PROXY as curl reads it: hosts, domains and their subdomains, ports, IPv6, *', async (t) => {
  const api = 'https://cockroachlabs.cloud'
  t.equal(via(api, 'cockroachlabs.cloud'), undefined)
  t.equal(via('https://api.cockroachlabs.cloud', 'cockroachlabs.cloud'), undefined, 'a domain covers its subdomains')
  t.equal(via('https://api.cockroachlabs.cloud', '.cockroachlabs.cloud'), undefined, 'with a leading dot too')
  t.equal(via('https://notcockroachlabs.cloud', 'cockroachlabs.cloud'), proxies.httpsProxy, 'not a mere suffix')
  t.equal(via(api, 'example.com, COCKROACHLABS.CLOUD'), undefined, 'any entry, any case')
  t.equal(via(api, 'cockroachlabs.cloud:443'), undefined, 'the port the scheme implies')
  t.equal(via(api, 'cockroachlabs.cloud:8443'), proxies.httpsProxy, 'another port')
  t.equal(via('http://[::1]:8080', '[::1]:8080'), undefined)
  t.equal(via('http://[::1]:8080', '::1'), undefined)
  t.equal(via(api, '*'), undefined)
  t.equal(via(api, ' , '), proxies.httpsProxy)
})

t.test('the route as the start-up log says it: never the credentials', async (t) => {
  t.equal(routeOf(new URL('https://cockroachlabs.cloud'), { httpsProxy: 'http://user:s3cret@proxy.internal:3128' }), 'via http://proxy.internal:3128')
  t.equal(routeOf(new URL('https://cockroachlabs.cloud'), {}), 'direct')
})
