import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { stringify } from 'yaml'
import { root } from '../helpers/deploy/dockerfile.js'
import { exportedMetrics } from '../helpers/deploy/exported-metrics.js'
import { problemsIn } from '../helpers/deploy/promql.js'

// The Grafana dashboard: importable anywhere (its data source is a variable), laid out
// without overlaps, and every query valid PromQL over series the app exports.

type Obj = Record<string, any>

const run = promisify(execFile)
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/pcr-sidecar.json'), 'utf8')) as Obj
const panels = (dashboard.panels as Obj[]).filter((p) => p.type !== 'row')
const variables = dashboard.templating.list as Obj[]
const source = { type: 'prometheus', uid: '${datasource}' }

// Each query with the variables replaced as Grafana would for "All" (or the ServiceMonitor's job).
const queries = [
  ...panels.flatMap((p) => (p.targets as Obj[]).map((q) => ({ where: `${p.title} ${q.refId}`, expr: q.expr as string, legend: q.legendFormat as string }))),
  ...variables
    .filter((v) => v.type === 'query')
    .map((v) => {
      const [, expr = '', label = ''] = /^label_values\((.*), (\w+)\)$/.exec(v.query.query) ?? []
      return { where: `variable ${v.name}`, expr, legend: `{{${label}}}` }
    })
].map((q) => ({ ...q, promql: substitute(q.expr) }))

function substitute(expr: string): string {
  let out = expr.replace(/\$__rate_interval/g, '1m').replace(/\$job\b/g, 'pcr-sidecar')
  for (const v of variables) if (v.allValue !== undefined) out = out.replace(new RegExp(`\\$${v.name}\\b`, 'g'), v.allValue)
  return out
}

t.test('importable into any Grafana: the data source is a variable', async (t) => {
  t.equal(dashboard.uid, 'pcr-sidecar')
  t.ok(Number.isInteger(dashboard.schemaVersion))
  t.same(variables.find((v) => v.name === 'datasource'), { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 })
  for (const p of panels) {
    t.same(p.datasource, source, `${p.title}: the variable's data source`)
    t.ok((p.targets as Obj[]).every((q) => JSON.stringify(q.datasource) === JSON.stringify(source)), `${p.title}: its queries too`)
  }
  t.notOk(JSON.stringify(dashboard).includes('__inputs'), 'nothing to map at import')
})

t.test('laid out on the 24-column grid without overlaps, ids unique', async (t) => {
  const all = dashboard.panels as Obj[]
  t.equal(new Set(all.map((p) => p.id)).size, all.length)
  const cells = new Map<string, string>()
  for (const p of all) {
    const { x, y, w, h } = p.gridPos
    t.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0, `${p.title} fits the grid`)
    for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
      const taken = cells.get(`${i},${j}`)
      if (taken !== undefined) t.fail(`${p.title} overlaps ${taken}`)
      cells.set(`${i},${j}`, p.title)
    }
  }
})

t.test('the panels the deployment promises', async (t) => {
  const text = queries.map((q) => q.expr).join('\n')
  const topics: Array<[string, string]> = [
    ['active cluster', 'pcr_active_cluster_info'],
    ['health verdicts over time', 'pcr_cluster_health'],
    ['replication lag', 'pcr_replication_lag_seconds'],
    ['failover timeline', 'pcr_phase'],
    ['failover timeline', 'pcr_failovers_total'],
    ['Cloud API latency', 'pcr_cloud_api_request_duration_seconds_bucket'],
    ['Cloud API errors', 'pcr_cloud_api_requests_total']
  ]
  for (const [topic, series] of topics) t.ok(text.includes(series), `${topic}: ${series}`)
  for (const q of queries) t.notMatch(q.promql, /\$/, `${q.where}: every variable is defined`)
})

t.test('every query is valid PromQL over series and labels the app exports', async (t) => {
  const exported = await exportedMetrics(t)
  for (const q of queries) {
    const legend = [...(q.legend ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1] as string)
    t.same(problemsIn(q.promql, exported, legend), [], q.where)
  }
  // promtool parses PromQL only inside rules: each query becomes a recording rule.
  const dir = mkdtempSync(join(tmpdir(), 'pcr-dashboard-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.promql }))
  writeFileSync(join(dir, 'queries.yml'), stringify({ groups: [{ name: 'dashboard', rules }] }))
  const checked = await run('promtool', ['check', 'rules', 'queries.yml'], { cwd: dir })
  t.match(checked.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`))
})
