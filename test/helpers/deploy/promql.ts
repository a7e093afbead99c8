import type { Exported } from './exported-metrics.js'

// The metric names and labels a PromQL expression refers to, checked against what the app
// exports. Not a PromQL parser: enough for selectors and grouping clauses.

// Labels Prometheus adds from the target (the Operator adds namespace and pod).
const targetLabels = ['job', 'instance', 'namespace', 'pod']
// Gauges that show every value of a label at each scrape, so a matcher on it can be checked.
const enumerated = new Set(['pcr_phase phase', 'pcr_cluster_health verdict', 'pcr_stream_status status'])

export function problemsIn(expr: string, exported: Exported, templateLabels: string[] = []): string[] {
  const problems: string[] = []
  const allowed = new Set([...targetLabels, 'le'])
  for (const [, name = '', body = ''] of expr.matchAll(/(?<![\w:])(pcr_\w+|up)(?!\w)(?:\{([^}]*)\})?/g)) {
    const labels = exported.labels.get(name) ?? new Set<string>()
    if (name !== 'up' && !exported.names.has(name)) problems.push(`${name} is not exported`)
    for (const label of labels) allowed.add(label)
    for (const [, label = '', op = '', value = ''] of body.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      if (!labels.has(label) && !targetLabels.includes(label)) problems.push(`${name} has no label ${label}`)
      if (!enumerated.has(`${name} ${label}`) || op.startsWith('!')) continue
      const seen = exported.values.get(`${name} ${label}`) ?? new Set<string>()
      for (const v of value.split('|')) if (!seen.has(v)) problems.push(`${name}{${label}} is never "${v}"`)
    }
  }
  const grouping = [...expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) => (m[1] ?? '').split(','))
  for (const label of [...grouping, ...templateLabels].map((l) => l.trim()).filter((l) => l !== '')) {
    if (!allowed.has(label)) problems.push(`no series here has the label ${label}`)
  }
  return problems
}
