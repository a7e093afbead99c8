import { Agent, ProxyAgent, type Dispatcher } from 'undici'
import type { Config } from './config/index.js'

// Outbound HTTP (the Cloud API, the webhook) goes direct, or through the egress proxy
// HTTPS_PROXY or HTTP_PROXY names unless NO_PROXY names the host. Decided once per
// destination, so what the start-up log says is what every request does.

export type ProxySettings = Config['proxy']

// A NO_PROXY entry as curl reads it: `*`, or a host or domain (`example.com` also covers
// its subdomains, as does `.example.com`), an IPv6 address in brackets or bare, each with
// an optional port.
function bypasses(entry: string, host: string, port: string): boolean {
  if (entry === '*') return true
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  const [name, entryPort] = bracketed !== null ? [bracketed[1], bracketed[2]] : entry.split(':').length > 2 ? [entry] : entry.split(':')
  if (entryPort !== undefined && entryPort !== port) return false
  const domain = (name ?? '').replace(/^\*?\./, '')
  return host === domain || host.endsWith(`.${domain}`)
}

/** The proxy a request to this URL goes through, or undefined for a direct one. */
export function proxyFor(url: URL, settings: ProxySettings): string | undefined {
  const proxy = url.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy
  if (proxy === undefined) return undefined
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const entries = (settings.noProxy ?? '').toLowerCase().split(/[\s,]+/).filter((e) => e !== '')
  return entries.some((entry) => bypasses(entry, host, port)) ? undefined : proxy
}

/** How a request to this URL leaves, for the log: "direct" or the proxy, without its credentials. */
export function routeOf(url: URL, settings: ProxySettings): string {
  const proxy = proxyFor(url, settings)
  if (proxy === undefined) return 'direct'
  const shown = new URL(proxy)
  shown.username = ''
  shown.password = ''
  return `via ${shown.origin}`
}

/** The dispatcher for requests to this URL: a keep-alive agent, through the proxy when there is one. */
export function dispatcherFor(url: URL, settings: ProxySettings, connections?: number): Dispatcher {
  const proxy = proxyFor(url, settings)
  const limits = connections === undefined ? {} : { connections }
  // The proxy's credentials in its URL become its Proxy-Authorization.
  return proxy === undefined ? new Agent(limits) : new ProxyAgent({ uri: proxy, ...limits })
}
