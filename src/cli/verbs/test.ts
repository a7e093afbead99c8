import type { Command } from 'commander'
import { createCloudClient } from '../../cloud/client.js'
import { CloudApiError } from '../../cloud/errors.js'
import type { Cluster } from '../../cloud/schemas.js'
import { createSqlProbe } from '../../sql/probe.js'
import type { Context } from '../context.js'
import { EXIT, exitCodeOf, messageOf } from '../errors.js'
import { checkLine } from '../format.js'
import { count } from '../parse.js'
import { drill, withDrillOptions, type DrillCliOptions } from './drill.js'

// The Python tool's `test` verbs: is the API there, does monitoring see the pair,
// and does a failover really happen (the drill).

async function testConnection(ctx: Context): Promise<number> {
  const config = ctx.config()
  const { clock } = ctx.io
  // One attempt per request: this is a diagnosis, not a monitor riding out a blip.
  const cloud = createCloudClient({ baseUrl: config.pair.apiUrl, apiKey: config.pair.apiKey, timeoutSeconds: config.timeline.checkTimeoutSeconds, rateLimit: config.pair.apiRateLimit, retry: { attempts: 1 } })
  let code: number = EXIT.ok
  const check = (ok: boolean, text: string, failure: number = EXIT.failed) => {
    ctx.out.line(`${ok ? '✓' : '✗'} ${text}`)
    if (!ok) code = Math.max(code, failure)
  }
  try {
    const started = clock.now()
    let primary: Cluster | CloudApiError
    try {
      primary = await cloud.getCluster(config.pair.primaryClusterId)
    } catch (err) {
      primary = err as CloudApiError
    }
    // Any HTTP answer means the API is there; 401/403 mean it does not take the key.
    const answered = !(primary instanceof CloudApiError) || primary.status !== undefined
    const elapsed = `${Math.round(clock.now() - started)} ms`
    check(answered, answered ? `Cloud API reachable at ${config.pair.apiUrl} (${elapsed})` : `Cloud API not reachable at ${config.pair.apiUrl}: ${messageOf(primary)}`, EXIT.unreachable)
    if (!answered) return code
    const refused = primary instanceof CloudApiError && (primary.status === 401 || primary.status === 403)
    check(!refused, refused ? `API key refused: ${messageOf(primary)}` : 'API key accepted', EXIT.usage)
    if (refused) return code
    for (const [role, id] of [['primary', config.pair.primaryClusterId], ['standby', config.pair.standbyClusterId]] as const) {
      try {
        // The primary was read above; read again only to report its failure.
        const cluster = role === 'primary' && !(primary instanceof CloudApiError) ? primary : await cloud.getCluster(id)
        const nodes = await cloud.listNodes(id)
        const live = nodes.filter((n) => n.status === 'LIVE').length
        check(true, `${role} cluster ${id} readable: ${cluster.name}, ${cluster.state}, ${live} of ${nodes.length} nodes LIVE`)
      } catch (err) {
        check(false, `${role} cluster ${id} not readable: ${messageOf(err)}`, exitCodeOf(err))
      }
    }
    try {
      const stream = await cloud.discoverStream(config.pair.primaryClusterId, config.pair.standbyClusterId)
      if (stream === undefined) ctx.out.line('· no replication stream between the two clusters (pcr setup creates one)')
      else check(true, `replication stream ${stream.id} readable: ${stream.status}`)
    } catch (err) {
      check(false, `replication streams not readable: ${messageOf(err)}`, exitCodeOf(err))
    }
    for (const [role, endpoint] of [['primary', config.sql.primaryEndpoint], ['standby', config.sql.standbyEndpoint]] as const) {
      if (endpoint === undefined) continue
      const probe = createSqlProbe({ connectionString: endpoint, timeoutSeconds: config.timeline.checkTimeoutSeconds })
      const result = await probe.check()
      await probe.close()
      check(result.ok, result.ok ? `${role} SQL endpoint answers SELECT 1 (${result.latencyMs} ms)` : `${role} SQL endpoint: ${result.error}`, EXIT.unreachable)
    }
  } finally {
    await cloud.close()
  }
  return code
}

async function testMonitoring(ctx: Context, command: Command, checks: number): Promise<number> {
  return ctx.withBackend(command, {}, async (backend) => {
    let code: number = EXIT.ok
    for (let i = 1; i <= checks; i++) {
      // Direct mode: each line is a check the engine counts (started here, a check
      // interval apart), not an operator's look, which would never leave phase normal.
      // Remote mode: the sidecar's own checks, a poll interval apart.
      if (backend.mode === 'direct' || i > 1) await backend.next()
      const c = await backend.clusters()
      ctx.out.line(`check ${i}/${checks}: ${checkLine(c)}`)
      const watched = c.clusters.find((k) => k.id === c.watched_cluster_id)?.verdict
      if (watched === 'unknown') code = EXIT.unreachable
      else if (watched === 'unhealthy') code = Math.max(code, EXIT.failed)
    }
    ctx.out.line(code === EXIT.ok ? `monitoring works: ${checks} checks, the watched cluster is healthy` : 'monitoring sees a problem: see the checks above')
    return code
  })
}

export function registerTest(program: Command, ctx: Context): void {
  const test = program.command('test').description('check the API connection, the monitoring, or run a failover drill')

  test
    .command('connection')
    .description('Cloud API reachable, key accepted, both clusters readable, SQL endpoints answering (one line each)')
    .action(ctx.action(() => testConnection(ctx)))

  test
    .command('monitoring')
    .description('run a few checks, HEALTH_CHECK_INTERVAL apart (remote: a poll interval), and print what each one sees')
    .option('--checks <n>', 'how many checks', count, 3)
    .action(ctx.action((opts: { checks: number }, command: Command) => testMonitoring(ctx, command, opts.checks)))

  withDrillOptions(test.command('failover').description('the drill: disrupt the primary, measure detection and failover, restore'), false).action(
    ctx.action((opts: DrillCliOptions, command: Command) => drill(ctx, command, opts, false))
  )

  withDrillOptions(test.command('automated').description('the drill with a failback: outage, failover, restore, failback, all measured'), false).action(
    ctx.action((opts: DrillCliOptions, command: Command) => drill(ctx, command, opts, true))
  )
}
