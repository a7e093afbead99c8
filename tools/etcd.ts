import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { Agent, request, type Dispatcher } from 'undici'
import { listening, onFreePorts, PortTaken } from './daemon.js'
import type { Teardown } from './stack.js'
import { waitFor } from './wait-for.js'

// A throwaway etcd 3.4 cluster on loopback ports, for the coordination tests.
// Tests stop members to take away quorum and start them again on the same
// ports and data.

const bin = '/usr/bin/etcd'
const setpriv = '/usr/bin/setpriv'
const waitMs = 20_000

/** TLS on the members' client port (PEM files); peers stay plain http. */
export interface EtcdTls {
  /** The CA the members trust for client certificates, and clients for the members'. */
  caFile: string
  /** The members' certificate, for 127.0.0.1, and its key. */
  certFile: string
  keyFile: string
  /** The members demand a client certificate: the one this helper's health checks present. */
  clientCertFile: string
  clientKeyFile: string
}

export interface EtcdMember {
  readonly name: string
  /** http://127.0.0.1:PORT (https with TLS), where clients connect. */
  readonly clientUrl: string
  readonly peerUrl: string
  running(): boolean
  /** Kills the member at once, as a crash would. */
  stop(): Promise<void>
  /** Starts it again on the same ports and data; resolves once it accepts connections, quorum or not. */
  start(): Promise<void>
  /** What it printed (errors only), for failure messages. */
  log(): string
}

export interface EtcdCluster {
  readonly members: EtcdMember[]
  /** The members' client URLs. */
  readonly endpoints: string[]
  /** Where the members keep their data. */
  readonly dir: string
  /** Waits until every running member is healthy (joined, with a leader); only then does a restarted one serve. */
  healthy(): Promise<void>
  /** Stops every member and removes the data; safe to call twice. */
  destroy(): Promise<void>
}

interface Member extends EtcdMember {
  launch(): void
  dataDir: string
  /** Settles once the current process has exited and its output is read; at once if none runs. */
  ended(): Promise<void>
}

const running = new Set<ChildProcess>()
const dirs = new Set<string>()

// Members a test could not stop must not outlive the test process.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
    } catch {
      // A member still dying can race the removal; tmpdir is cleaned eventually.
    }
  }
})

// A member only answers once it has joined, so a member without quorum times out here.
async function answersHealthy(member: EtcdMember, dispatcher: Dispatcher | undefined): Promise<boolean> {
  try {
    const { body } = await request(`${member.clientUrl}/health`, { dispatcher, headersTimeout: 1000, bodyTimeout: 1000 })
    return ((await body.json()) as { health?: unknown }).health === 'true'
  } catch {
    return false
  }
}

/** Waits until `ready`, failing at once when one of `members` exits meanwhile, or after `waitMs`. */
async function until(ready: () => Promise<boolean>, members: Member[], what: string): Promise<void> {
  const died = new AbortController()
  for (const member of members) {
    void member.ended().then(() => {
      const why = `${member.name} exited before it was ${what}:\n${member.log()}`
      died.abort(/address already in use/.test(why) ? new PortTaken(why) : new Error(why))
    })
  }
  try {
    await waitFor(`etcd ${what}`, ready, { timeoutMs: waitMs, intervalMs: 50, signal: died.signal })
  } catch (err) {
    if (died.signal.aborted) throw err
    const logs = members.map((member) => `${member.name}:\n${member.log()}`).join('\n')
    throw new Error(`${(err as Error).message}:\n${logs}`)
  }
}

function member(dir: string, name: string, clientPort: number, peerPort: number, cluster: string[], tls: EtcdTls | undefined): Member {
  const dataDir = join(dir, name)
  const clientUrl = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${clientPort}`
  const peerUrl = `http://127.0.0.1:${peerPort}`
  // On a restart etcd finds its data directory and ignores the --initial-* flags.
  const args = [
    ...['--name', name, '--data-dir', dataDir],
    ...['--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl],
    ...(tls === undefined
      ? []
      : ['--cert-file', tls.certFile, '--key-file', tls.keyFile, '--trusted-ca-file', tls.caFile, '--client-cert-auth']),
    ...['--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl],
    ...['--initial-cluster', cluster.join(','), '--initial-cluster-state', 'new'],
    // The cluster's directory name, so members of two clusters never join each other.
    ...['--initial-cluster-token', basename(dir)],
    // Elections within a second instead of several.
    ...['--heartbeat-interval', '50', '--election-timeout', '500'],
    ...['--logger', 'zap', '--log-level', 'error', '--log-outputs', 'stderr']
  ]
  const lines: string[] = []
  let child: ChildProcess | undefined
  let ended = Promise.resolve()

  const self: Member = {
    name,
    clientUrl,
    peerUrl,
    dataDir,
    running: () => child !== undefined,
    ended: () => ended,
    log: () => lines.join('\n'),
    launch() {
      // setpriv: the kernel kills etcd if the test process dies without its exit handlers.
      // No environment: ETCD_* variables would configure it too.
      const started = spawn(setpriv, ['--pdeathsig', 'KILL', bin, ...args], {
        env: {},
        stdio: ['ignore', 'ignore', 'pipe']
      })
      child = started
      running.add(started)
      ended = new Promise((resolve) => {
        started.once('close', () => resolve())
        started.once('error', () => resolve())
      })
      started.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        lines.push(...chunk.split('\n').filter((line) => line !== ''))
        lines.splice(0, lines.length - 200)
      })
      const gone = () => {
        running.delete(started)
        if (child === started) child = undefined
      }
      started.once('error', (err) => {
        lines.push(String(err))
        gone()
      })
      started.once('exit', gone)
    },
    async stop() {
      const current = child
      if (current === undefined) return
      const exited = new Promise((resolve) => current.once('exit', resolve))
      current.kill('SIGKILL')
      await exited
    },
    async start() {
      if (child !== undefined) return
      self.launch()
      await until(() => listening(clientPort), [self], `listening on ${clientUrl}`)
    }
  }
  return self
}

/**
 * Starts `size` members (3 unless told), with TLS on their client port if told,
 * and waits until all are healthy; destroyed at the end of the test.
 */
export async function startEtcdCluster(t: Teardown, options: { size?: number; tls?: EtcdTls } = {}): Promise<EtcdCluster> {
  const { size = 3, tls } = options
  const dir = await mkdtemp(join(tmpdir(), 'pcr-etcd-'))
  dirs.add(dir)
  let members: Member[] = []
  // With TLS the health checks trust the CA and present the client certificate the members demand.
  let dispatcher =
    tls === undefined
      ? undefined
      : new Agent({ connect: { ca: readFileSync(tls.caFile), cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) } })
  const healthy = () => {
    const up = members.filter((m) => m.running())
    return until(async () => (await Promise.all(up.map((m) => answersHealthy(m, dispatcher)))).every(Boolean), up, 'healthy')
  }
  const destroy = async () => {
    const agent = dispatcher
    dispatcher = undefined
    await agent?.close()
    await Promise.all(members.map((m) => m.stop()))
    await rm(dir, { recursive: true, force: true })
    dirs.delete(dir)
  }
  // Before starting, so that a start that fails halfway leaves nothing behind either.
  t.teardown(destroy)

  await onFreePorts(2 * size, async (ports) => {
    const names = Array.from({ length: size }, (_, i) => `etcd${i + 1}`)
    const cluster = names.map((name, i) => `${name}=http://127.0.0.1:${ports[2 * i + 1]}`)
    members = names.map((name, i) => member(dir, name, ports[2 * i] as number, ports[2 * i + 1] as number, cluster, tls))
    for (const m of members) m.launch()
    try {
      await healthy()
    } catch (err) {
      // A retry on other ports is a new cluster, which must not find this one's data.
      await Promise.all(members.map((m) => m.stop()))
      await Promise.all(members.map((m) => rm(m.dataDir, { recursive: true, force: true })))
      throw err
    }
  })

  return { members, endpoints: members.map((m) => m.clientUrl), dir, healthy, destroy }
}
