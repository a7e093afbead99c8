import type { Failover } from './results-schema.js'

// The failover timeline as an SVG chart: one bar per outage, its phases side by
// side, and dashed lines where the policy's minimum puts the PATCH and the switch.

const width = 960
const left = 80
const right = 80
const top = 64
const rowHeight = 18
const barHeight = 12
const colors = {
  detection: '#a0cbe8',
  toPatch: '#4e79a7',
  toCompleted: '#f28e2b',
  toSwitch: '#59a14f'
}

export function timelineSvg(f: Failover): string {
  const longest = Math.max(f.minimumMs.totalMs, ...f.outages.map((o) => o.totalMs))
  const step = tickStep(longest)
  const end = Math.ceil(longest / step) * step
  const x = (msValue: number) => left + (msValue / end) * (width - left - right)
  const height = top + f.outages.length * rowHeight + 40
  const bottom = top + f.outages.length * rowHeight
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="18" font-size="14" font-weight="bold">Failover timeline: ${f.outages.length} outages, interval ${f.policy.intervalSeconds} s, threshold ${f.policy.threshold}, delay ${f.policy.delaySeconds} s, failover ${f.policy.failoverSeconds} s</text>`
  ]
  const legend: Array<[string, string]> = [
    [colors.detection, 'outage → first failure counted'],
    [colors.toPatch, '→ PATCH'],
    [colors.toCompleted, 'PATCH → COMPLETED seen'],
    [colors.toSwitch, 'COMPLETED → /connection switched']
  ]
  let legendX = left
  for (const [color, label] of legend) {
    parts.push(`<rect x="${legendX}" y="30" width="12" height="12" fill="${color}"/><text x="${legendX + 16}" y="40">${label}</text>`)
    legendX += 36 + label.length * 6.5
  }
  for (let t = 0; t <= end; t += step) {
    parts.push(
      `<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${bottom}" stroke="#e0e0e0"/>`,
      `<text x="${x(t)}" y="${bottom + 14}" text-anchor="middle">${(t / 1000).toFixed(step < 100 ? 2 : step < 1000 ? 1 : 0)} s</text>`
    )
  }
  f.outages.forEach((o, i) => {
    const y = top + i * rowHeight
    const patchAt = o.outageToPatchMs
    const completedAt = patchAt + o.patchToCompletedMs
    const segments: Array<[number, number, string]> = [
      [0, o.detectionMs, colors.detection],
      [o.detectionMs, patchAt, colors.toPatch],
      [patchAt, completedAt, colors.toCompleted],
      [completedAt, o.totalMs, colors.toSwitch]
    ]
    parts.push(`<text x="${left - 8}" y="${y + barHeight - 2}" text-anchor="end">outage ${i + 1}</text>`)
    for (const [from, to, color] of segments) {
      // At least one pixel, so a phase of a few milliseconds still shows.
      parts.push(`<rect x="${x(from).toFixed(1)}" y="${y}" width="${Math.max(1, x(to) - x(from)).toFixed(1)}" height="${barHeight}" fill="${color}"/>`)
    }
    parts.push(`<text x="${(x(o.totalMs) + 4).toFixed(1)}" y="${y + barHeight - 2}" fill="#555">+${o.overheadMs} ms</text>`)
  })
  for (const [at, label] of [
    [f.minimumMs.outageToPatchMs, 'minimum PATCH'],
    [f.minimumMs.totalMs, 'minimum switch']
  ] as const) {
    parts.push(
      `<line x1="${x(at)}" y1="${top - 6}" x2="${x(at)}" y2="${bottom}" stroke="#333" stroke-dasharray="4 3"/>`,
      `<text x="${x(at)}" y="${bottom + 28}" text-anchor="middle" fill="#333">${label}</text>`
    )
  }
  parts.push('</svg>', '')
  return parts.join('\n')
}

// A tick every 1, 2 or 5 × 10^n ms, about ten of them across.
function tickStep(spanMs: number): number {
  const raw = spanMs / 10
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  return ([1, 2, 5, 10].map((f) => f * magnitude).find((s) => s >= raw) as number)
}
