import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { root } from '../helpers/deploy/dockerfile.js'
import { exportedMetrics } from '../helpers/deploy/exported-metrics.js'
import { problemsIn } from '../helpers/deploy/promql.js'

// The alert rules: valid for Prometheus (promtool, installed by .ci/run with the Debian
// package prometheus), each alert unit-tested both ways, and every series they ask for one
// the app exports.

const run = promisify(execFile)
const dir = join(root, 'deploy/prometheus')
const rulesText = readFileSync(join(dir, 'pcr-sidecar.rules.yml'), 'utf8')
const rules = (parse(rulesText).groups as Array<{ rules: Array<Record<string, any>> }>).flatMap((g) => g.rules)
const unitTests = parse(readFileSync(join(dir, 'pcr-sidecar.rules.test.yml'), 'utf8'), { merge: true }).tests as Array<{
  alert_rule_test: Array<{ alertname: string; exp_alerts?: unknown[] }>
}>

t.test('promtool check rules and promtool test rules pass', async (t) => {
  const checked = await run('promtool', ['check', 'rules', 'pcr-sidecar.rules.yml'], { cwd: dir })
  t.match(checked.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`))
  const tested = await run('promtool', ['test', 'rules', 'pcr-sidecar.rules.test.yml'], { cwd: dir })
  t.match(tested.stdout, /SUCCESS/)
})

t.test('the alerts the deployment promises, each tested firing and not firing', async (t) => {
  const names = rules.map((r) => r.alert)
  for (const name of ['PcrPrimaryUnhealthy', 'PcrFailoverStarted', 'PcrFailoverPastTimeout', 'PcrFailoverBlockedByDataLossGuard', 'PcrReplicationLagHigh', 'PcrSidecarNotReady', 'PcrCloudApiErrors']) {
    t.ok(names.includes(name), name)
  }
  const cases = unitTests.flatMap((u) => u.alert_rule_test)
  for (const rule of rules) {
    t.ok(['critical', 'warning'].includes(rule.labels?.severity), `${rule.alert}: a severity`)
    t.ok(rule.annotations?.summary && rule.annotations?.description, `${rule.alert}: a summary and a description`)
    const mine = cases.filter((c) => c.alertname === rule.alert)
    t.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${rule.alert} is tested firing`)
    t.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${rule.alert} is tested silent`)
  }
})

t.test('every series and label the rules use is exported by the app', async (t) => {
  const exported = await exportedMetrics(t)
  t.ok(exported.names.has('pcr_phase') && exported.names.has('pcr_cloud_api_request_duration_seconds_bucket'), 'read from a live /metrics')
  t.same(problemsIn('pcr_nope + pcr_phase{phase="lunch", colour="red"} + sum by (shelf) (up)', exported), [
    'pcr_nope is not exported',
    'pcr_phase{phase} is never "lunch"',
    'pcr_phase has no label colour',
    'no series here has the label shelf'
  ], 'the check itself finds what is wrong')
  for (const rule of rules) {
    const templated = [...JSON.stringify(rule.annotations).matchAll(/\$labels\.(\w+)/g)].map((m) => m[1] as string)
    t.same(problemsIn(rule.expr, exported, templated), [], rule.alert)
  }
})

t.test('wrapped as a PrometheusRule for the Operator (docs/deployment.md), the groups are the same', async (t) => {
  // What the documented `{ printf ...; sed 's/^/  /' ...; }` produces.
  const header = 'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: pcr-sidecar\n  labels:\n    release: prometheus\nspec:\n'
  const wrapped = parse(header + rulesText.replace(/^/gm, '  '))
  t.same(wrapped.spec, parse(rulesText))
  t.equal(wrapped.kind, 'PrometheusRule')
})
