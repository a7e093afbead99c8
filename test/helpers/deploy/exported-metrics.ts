import { PRIMARY, admin, startFakeCloud, startService, type Teardown } from '../../../tools/stack.js'

// What GET /metrics of the real app exports, gathered over a check of a healthy pair and
// over a blocked, then manual, failover, so that every labelled series has appeared.

export interface Exported {
  // Every series name a scrape can show (a histogram's _bucket, _sum, _count).
  names: Set<string>
  // The label names seen on each series name.
  labels: Map<string, Set<string>>
  // The values seen for `${series} ${label}`.
  values: Map<string, Set<string>>
}

const suffixes: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] }

export function parseExposition(text: string): Exported {
  const exported: Exported = { names: new Set(), labels: new Map(), values: new Map() }
  for (const [, name = '', type = ''] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    for (const suffix of suffixes[type] ?? ['']) exported.names.add(name + suffix)
  }
  for (const [, name = '', body = ''] of text.matchAll(/^([a-zA-Z_:][\w:]*)\{(.*)\} \S+$/gm)) {
    for (const [, label = '', value = ''] of body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      exported.labels.set(name, (exported.labels.get(name) ?? new Set()).add(label))
      exported.values.set(`${name} ${label}`, (exported.values.get(`${name} ${label}`) ?? new Set()).add(value))
    }
  }
  return exported
}

export async function exportedMetrics(t: Teardown): Promise<Exported> {
  const cloud = await startFakeCloud(t)
  const service = await startService(t, cloud, { AUTO_FAILOVER: 'false' })
  await service.waitForEvent('topology_changed')
  const healthy = (await service.get('/metrics')).body as string
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await service.waitForEvent('failover_blocked')
  const started = await service.post('/admin/failover', {}, admin)
  if (started.status !== 202) throw new Error(`manual failover: ${started.status} ${JSON.stringify(started.body)}`)
  await service.waitForEvent('failover_completed')
  return parseExposition(`${healthy}\n${(await service.get('/metrics')).body as string}`)
}
