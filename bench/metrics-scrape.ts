import { request } from 'undici'
import { runLoad } from './load.js'
import type { Service } from './processes.js'
import type { MetricsScrape } from './results-schema.js'

// Benchmark 2: /metrics as Prometheus sees it, one scrape after the other on one
// connection, from a service that has been through outages and failovers (so
// every series has its realistic label sets).

export async function benchMetricsScrape(service: Service, scrapes: number): Promise<MetricsScrape> {
  const res = await request(`${service.url}/metrics`)
  const text = await res.body.text()
  const series = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length
  const run = await runLoad({ url: `${service.url}/metrics`, connections: 1, amount: scrapes, pid: service.child.pid })
  return { scrapes: run.requests, bytes: Buffer.byteLength(text), series, latencyMs: run.latencyMs }
}
