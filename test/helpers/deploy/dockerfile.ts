import { readFileSync } from 'node:fs'
import { join } from 'node:path'

// The Dockerfile as stages of instructions, for tests that have no engine to build it.

export interface Instruction {
  op: string
  args: string
}

export interface Stage {
  name: string
  from: string
  steps: Instruction[]
}

export const root = join(import.meta.dirname, '../../..')

/** Continuation lines joined, comments dropped, ARGs before the first FROM substituted into FROM. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n\s*/g, '').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  const globals: Record<string, string> = {}
  const stages: Stage[] = []
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    const stage = stages.at(-1)
    if (op === 'FROM') {
      const [image = '', , name] = args.replace(/\$\{(\w+)\}/g, (_, v: string) => globals[v] ?? '').split(/\s+/)
      stages.push({ name: name ?? String(stages.length), from: image, steps: [] })
    } else if (stage === undefined) {
      const [, key = '', value = ''] = /^ARG (\w+)=(\S+)$/.exec(line) ?? []
      globals[key] = value
    } else {
      stage.steps.push({ op, args })
    }
  }
  return stages
}

export const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'))
export const runtime = stages.at(-1) as Stage

/** The arguments of the runtime stage's instruction, e.g. `USER`. */
export function runtimeArg(op: string): string {
  return runtime.steps.find((s) => s.op === op)?.args ?? ''
}

/** A JSON-array instruction argument (`CMD [...]`). */
export function execForm(args: string): string[] {
  return JSON.parse(args) as string[]
}
