import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

// What /proc (Linux) tells about a process and the machine: CPU time, to tell
// who was busy during a run (the process under test, the load generator, or
// something else), and the peak RSS. Null where /proc is not there.

let clockTicks: number | undefined

function ticksToSeconds(ticks: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  return ticks / clockTicks
}

/** CPU seconds a process has used so far, all its threads. */
export function processCpuSeconds(pid: number): number | null {
  try {
    // The fields after the command name; utime and stime are the 12th and 13th of them.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return ticksToSeconds(Number(fields[11]) + Number(fields[12]))
  } catch {
    return null
  }
}

/** CPU seconds the whole machine has spent busy (every core, every process). */
export function machineBusySeconds(): number | null {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).map(Number)
    return ticksToSeconds([user, nice, system, irq, softirq, steal].reduce((sum: number, n) => sum + (n ?? 0), 0))
  } catch {
    return null
  }
}

// A size field of /proc/<pid>/status, in bytes.
function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? null : Number(kb) * 1024
  } catch {
    return null
  }
}

/** The most memory the process has held resident at any moment (VmHWM), in bytes. */
export const peakRssBytes = (pid: number) => statusBytes(pid, 'VmHWM')

/** The memory the process holds resident now (VmRSS), in bytes: what the OS and a container limit see. */
export const currentRssBytes = (pid: number) => statusBytes(pid, 'VmRSS')
