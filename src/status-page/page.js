// The status page's script: no framework, no build step. It draws what
// GET /clusters and GET /events answer, pushed live by GET /events/stream
// (Server-Sent Events), and polls those two routes while the stream is down.
// Everything from the server is put in the page as text, never as HTML.
'use strict'

;(() => {
  const staleAfterMs = Number(document.querySelector('meta[name="pcr-stale-after-ms"]').content) || 180_000
  const pollMs = 5000
  // After the stream was refused (e.g. 503: too many streams), try it again this late.
  const streamRetryMs = 30_000
  const lagWindowMs = 5 * 60_000
  const maxEvents = 100

  const state = {
    status: null,
    events: [],
    lag: [],
    // Samples of (browser time − server time of the latest check): their
    // minimum estimates the clock offset, so countdowns ignore a skewed laptop clock.
    offsets: [],
    lastCheckAt: null,
    freshAt: 0,
    mode: 'connecting',
    pollTimer: null
  }

  const byId = (id) => document.getElementById(id)

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag)
    for (const [name, value] of Object.entries(attributes ?? {})) node.setAttribute(name, value)
    for (const child of children) node.append(child)
    return node
  }

  function svg(tag, attributes, text) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag)
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value))
    if (text !== undefined) node.textContent = text
    return node
  }

  const serverNow = () => Date.now() - (state.offsets.length > 0 ? Math.min(...state.offsets) : 0)
  const clockTime = (iso) => new Date(iso).toLocaleTimeString([], { hour12: false })

  function ago(iso) {
    if (iso === null) return 'never'
    const seconds = Math.max(0, Math.round((serverNow() - Date.parse(iso)) / 1000))
    return seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`
  }

  // Relative times are refreshed in place each second (see tick), so the rest of
  // the page is redrawn only when data arrives and a selection in it survives.
  function timeWithAgo(iso) {
    if (iso === null) return 'never'
    return el('span', {}, el('time', { datetime: iso }, clockTime(iso)), ' (', el('span', { 'data-ago': iso }, ago(iso)), ')')
  }

  // Only a real change touches the node: a live region would announce it again.
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text
  }

  function clusterName(s, id) {
    const cluster = s.clusters.find((c) => c.id === id)
    return cluster?.name ?? id ?? 'none'
  }

  // The phase as one state with a symbol, a label and a detail line.
  function phaseView(s) {
    const now = serverNow()
    const failures = `${s.consecutive_failures} of ${s.failure_threshold}`
    const manual = s.auto_failover ? '' : ' (report only: AUTO_FAILOVER is off)'
    if (s.fence !== null && s.fence.cluster_id === s.active_cluster_id) {
      return { key: 'fenced', icon: '⏸', label: 'Switching over', detail: `writes fenced on ${clusterName(s, s.fence.cluster_id)} since ${s.fence.since}; the standby takes over once it has replicated up to the fence` }
    }
    if (s.paused && ['normal', 'suspect', 'delay'].includes(s.phase)) {
      const doing = s.phase === 'normal' ? 'monitoring goes on' : `the primary is failing (${failures} failed checks) but no failover will start`
      return { key: 'paused', icon: '‖', label: 'Paused', detail: `automatic failover paused: ${doing}` }
    }
    switch (s.phase) {
      case 'normal':
        return { key: 'normal', icon: '✓', label: 'Normal', detail: `the watched cluster is healthy${manual}` }
      case 'suspect':
        return { key: 'suspect', icon: '!', label: `Suspect: ${failures}`, detail: `failed checks in a row; the delay starts at ${s.failure_threshold}${manual}` }
      case 'delay': {
        const left = Math.max(0, Math.ceil((Date.parse(s.delay_ends_at) - now) / 1000))
        return { key: 'delay', icon: '◷', label: 'Waiting the delay', detail: `double-check in ${left} s, then a failover to ${clusterName(s, s.failover_target_id)}${manual}` }
      }
      case 'blocked':
        return { key: 'blocked', icon: '✕', label: 'Blocked', detail: s.blocked_reason ?? 'the failover was refused' }
      case 'failing_over': {
        const since = s.failover?.started_at ?? null
        const elapsed = since === null ? '' : `, ${Math.max(0, Math.floor((now - Date.parse(since)) / 1000))} s elapsed`
        return { key: 'failing_over', icon: '⇄', label: 'Failing over', detail: `to ${clusterName(s, s.failover_target_id)}${elapsed}; no cluster takes writes until it completes` }
      }
      case 'activating':
        return { key: 'activating', icon: '◷', label: 'Activating', detail: `failover completed; applications are sent to ${clusterName(s, s.watched_cluster_id)} once it answers SQL` }
      case 'completed':
        return { key: 'completed', icon: '✓', label: 'Failover completed', detail: `${clusterName(s, s.active_cluster_id)} is active; there is no standby until a failback` }
      default:
        return { key: 'starting', icon: '…', label: 'Starting', detail: 'waiting for the first check' }
    }
  }

  function renderHeader(s) {
    const active = s.clusters.find((c) => c.id === s.active_cluster_id)
    byId('active-name').textContent = active === undefined ? (s.phase === 'failing_over' ? 'none while failing over' : s.phase === 'activating' ? 'none until the new primary answers SQL' : 'not known yet') : (active.name ?? active.id)
    byId('active-detail').replaceChildren(
      ...(active === undefined
        ? []
        : ['id ', el('code', { id: 'active-id' }, active.id), ' · SQL host ', el('code', { id: 'active-host' }, active.sql_dns ?? 'not known yet')]),
      ...fleet(s.coordination),
      ...pooler(s.pgbouncer)
    )
    renderPhase(s)
  }

  // With COORDINATION=etcd: who decides, seen from this sidecar.
  function fleet(c) {
    if (c === undefined) return []
    const who =
      c.role === 'leader'
        ? 'this sidecar leads the fleet'
        : c.role === 'follower'
          ? `sidecar ${c.leader_id} leads the fleet; this one (${c.sidecar_id}) follows`
          : `no sidecar leads the fleet${c.connected ? '' : ' (etcd unreachable): no automatic failover'}`
    return [el('br'), el('span', { id: 'fleet' }, who)]
  }

  // With PGBOUNCER_*: whether PgBouncer holds the applications' queries around a switch.
  function pooler(p) {
    if (p === null || p === undefined) return []
    const text =
      p.state === 'serving'
        ? `PgBouncer serves ${p.database}`
        : `PgBouncer ${p.state === 'paused' ? 'holds' : p.state === 'pausing' ? 'is pausing' : 'is resuming'} ${p.database} since ${p.since ?? 'now'}${p.reason === null ? '' : ` (${p.reason})`}`
    return [el('br'), el('span', { id: 'pgbouncer', 'data-state': p.state }, text)]
  }

  function renderPhase(s) {
    const phase = phaseView(s)
    const box = byId('phase')
    if (box.dataset.phase !== phase.key) box.dataset.phase = phase.key
    setText(byId('phase-icon'), phase.icon)
    setText(byId('phase-label'), phase.label)
    setText(byId('phase-detail'), phase.detail)
  }

  function fact(term, value) {
    return [el('dt', {}, term), el('dd', {}, value)]
  }

  function renderClusters(s) {
    const verdictSymbol = { healthy: '✓', unhealthy: '✕', unknown: '?' }
    const cards = s.clusters.map((c) => {
      const isActive = c.id === s.active_cluster_id
      const heading = el('h3', {}, c.name ?? c.id, ...(isActive ? [' ', el('span', { class: 'badge active' }, 'active')] : []))
      const nodes = c.nodes_live === null ? 'not known' : `${c.nodes_live} / ${c.nodes_total} live`
      const verdict = el('span', { class: `verdict-${c.verdict}` }, `${verdictSymbol[c.verdict]} ${c.verdict}`)
      return el(
        'article',
        { class: 'cluster', 'data-cluster-id': c.id, 'data-active': String(isActive), 'aria-label': `${c.configured_role} cluster ${c.name ?? c.id}` },
        heading,
        el(
          'dl',
          { class: 'facts' },
          ...fact('Configured as', c.configured_role),
          ...fact('Role', c.role),
          ...fact('Id', el('code', {}, c.id)),
          ...fact('State', c.state ?? 'not known'),
          ...fact('Operation', c.operation_status ?? 'not known'),
          ...fact('Nodes', nodes),
          ...fact('Verdict', el('span', {}, verdict, ` (${c.reason})`)),
          ...fact('Checked', timeWithAgo(c.last_checked_at))
        )
      )
    })
    byId('clusters').replaceChildren(...cards)
  }

  function renderStream(s) {
    const st = s.stream
    const rows =
      st === null
        ? fact('Stream', 'none between the two clusters')
        : [
            ...fact('Status', el('span', { id: 'stream-status' }, st.status)),
            ...fact('Direction', `${clusterName(s, st.primary_cluster_id)} → ${clusterName(s, st.standby_cluster_id)}`),
            ...fact('Replicated time', st.replicated_time === null ? 'not yet' : timeWithAgo(st.replicated_time)),
            ...fact('Lag', st.replication_lag_seconds === null ? 'not known' : `${st.replication_lag_seconds.toFixed(1)} s`),
            ...fact('Estimated data loss', s.estimated_data_loss_seconds === null ? 'not known' : `${s.estimated_data_loss_seconds.toFixed(1)} s`)
          ]
    byId('stream').replaceChildren(...rows)
  }

  // The lag over the last minutes, from the samples this page has kept.
  function renderChart() {
    const chart = byId('lag-chart')
    const now = serverNow()
    state.lag = state.lag.filter((p) => now - p.at <= lagWindowMs)
    const known = state.lag.filter((p) => p.lag !== null)
    const top = Math.max(1, Math.ceil(Math.max(0, ...known.map((p) => p.lag))))
    // The time axis grows with the data this page has, from one minute up to the window.
    const span = Math.min(lagWindowMs, Math.max(60_000, now - (state.lag[0]?.at ?? now)))
    const [left, right, topY, bottom] = [44, 592, 10, 120]
    const x = (at) => left + ((at - (now - span)) / span) * (right - left)
    const y = (lag) => bottom - (lag / top) * (bottom - topY)
    const parts = [
      svg('line', { class: 'axis', x1: left, y1: bottom, x2: right, y2: bottom }),
      svg('line', { class: 'axis', x1: left, y1: topY, x2: left, y2: bottom }),
      svg('text', { x: 4, y: topY + 10 }, `${top} s`),
      svg('text', { x: 4, y: bottom }, '0 s'),
      svg('text', { x: left, y: 136 }, `−${Math.round(span / 60_000)} min`),
      svg('text', { x: right - 24, y: 136 }, 'now')
    ]
    // A gap where the lag was not known, so no line is drawn across it.
    let line = []
    const flush = () => {
      if (line.length > 0) parts.push(svg('polyline', { class: 'lag', points: line.join(' ') }))
      line = []
    }
    for (const p of state.lag) {
      if (p.lag === null) flush()
      else line.push(`${x(p.at).toFixed(1)},${y(p.lag).toFixed(1)}`)
    }
    flush()
    chart.replaceChildren(...parts)
    const latest = known.at(-1)
    byId('lag-caption').textContent =
      latest === undefined
        ? 'Replication lag: no data yet.'
        : `Replication lag over the last ${Math.round(span / 60_000)} min: now ${latest.lag.toFixed(1)} s, highest ${Math.max(...known.map((p) => p.lag)).toFixed(1)} s (${known.length} samples).`
  }

  function renderTimeline() {
    const items = state.events.map((e) => {
      const data = Object.entries(e.data)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
      return el(
        'li',
        { 'data-event-id': String(e.id), 'data-type': e.type, 'data-severity': e.severity },
        el('time', { datetime: e.at }, clockTime(e.at)),
        el('span', {}, ...(e.severity === 'info' ? [] : [el('span', { class: 'severity' }, e.severity)]), el('span', { class: 'type' }, e.type)),
        el('span', { class: 'message' }, e.message, ...(data === '' ? [] : [' ', el('span', { class: 'mono detail' }, data)]))
      )
    })
    byId('timeline').replaceChildren(...items)
  }

  function renderFreshness() {
    const connection = byId('connection')
    connection.dataset.mode = state.mode
    setText(connection, {
      connecting: 'Connecting to the sidecar…',
      live: 'Live: the sidecar pushes every change.',
      polling: `Live stream unavailable: polling every ${pollMs / 1000} s.`,
      offline: 'Cannot reach the sidecar: retrying.'
    }[state.mode])
    const age = Date.now() - state.freshAt
    // Polled data is up to one poll older than pushed data, and still fresh.
    const allowed = staleAfterMs + (state.mode === 'live' ? 0 : pollMs)
    const stale = state.status !== null && (state.mode === 'offline' || age > allowed)
    const banner = byId('stale')
    banner.hidden = !stale
    document.body.dataset.stale = String(stale)
    if (stale) {
      const last = state.lastCheckAt === null ? 'no check yet' : `last check ${clockTime(state.lastCheckAt)}, ${Math.round(age / 1000)} s ago`
      setText(banner, `Stale: this data may be out of date (${last}).`)
    }
  }

  function render() {
    const s = state.status
    if (s !== null) {
      renderHeader(s)
      renderClusters(s)
      renderStream(s)
      renderChart()
    }
    renderFreshness()
  }

  function applyStatus(s) {
    if (s.last_check_at !== state.lastCheckAt) {
      state.lastCheckAt = s.last_check_at
      state.freshAt = Date.now()
      if (s.last_check_at !== null) {
        const at = Date.parse(s.last_check_at)
        state.offsets = [...state.offsets.slice(-9), Date.now() - at]
        state.lag.push({ at, lag: s.stream?.replication_lag_seconds ?? null })
      }
    }
    state.status = s
    render()
  }

  function addEvent(e) {
    if (state.events.some((known) => known.id === e.id)) return
    state.events = [e, ...state.events].sort((a, b) => b.id - a.id).slice(0, maxEvents)
    renderTimeline()
  }

  function setMode(mode) {
    state.mode = mode
    renderFreshness()
  }

  async function fetchJson(path) {
    const res = await fetch(path, { cache: 'no-store', signal: AbortSignal.timeout(pollMs) })
    if (!res.ok) throw new Error(`${path}: ${res.status}`)
    return res.json()
  }

  async function poll() {
    try {
      const [clusters, events] = await Promise.all([fetchJson('clusters'), fetchJson('events')])
      if (state.mode === 'live') return
      state.events = events.events
      renderTimeline()
      applyStatus(clusters)
      setMode('polling')
    } catch {
      if (state.mode !== 'live') setMode('offline')
    }
  }

  function startPolling() {
    if (state.pollTimer !== null) return
    void poll()
    state.pollTimer = setInterval(poll, pollMs)
  }

  function stopPolling() {
    clearInterval(state.pollTimer)
    state.pollTimer = null
  }

  function connect() {
    const source = new EventSource('events/stream')
    source.addEventListener('open', () => {
      stopPolling()
      setMode('live')
    })
    source.addEventListener('reset', () => {
      state.events = []
      renderTimeline()
    })
    source.addEventListener('status', (m) => applyStatus(JSON.parse(m.data)))
    source.addEventListener('engine', (m) => addEvent(JSON.parse(m.data)))
    source.addEventListener('error', () => {
      // CONNECTING: the browser retries by itself. CLOSED: it gave up (the
      // stream was refused), so this page asks again later.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, streamRetryMs)
      if (state.mode === 'live') setMode('connecting')
      startPolling()
    })
  }

  // Countdowns, elapsed times, relative times and staleness move on between messages.
  function tick() {
    if (state.status !== null) {
      renderPhase(state.status)
      for (const node of document.querySelectorAll('[data-ago]')) setText(node, ago(node.dataset.ago))
      renderChart()
    }
    renderFreshness()
  }

  setInterval(tick, 1000)
  connect()
})()
