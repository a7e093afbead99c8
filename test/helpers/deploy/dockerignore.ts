import { readdirSync } from 'node:fs'
import { join } from 'node:path'

// Docker's .dockerignore rules: `*`, `**` and `?` wildcards, `!` exceptions, the last
// matching line wins, and a line matching a directory covers everything in it.

export interface Rule {
  negate: boolean
  pattern: string
  regex: RegExp
}

const wildcard: Record<string, string> = { '**': '.*', '*': '[^/]*', '?': '[^/]' }

export function parseDockerignore(text: string): Rule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!')
      const pattern = line.slice(negate ? 1 : 0).replace(/^\/+|\/+$/g, '')
      const body = pattern
        .split(/(\*\*|\*|\?)/)
        .map((part) => wildcard[part] ?? part.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
        .join('')
      return { negate, pattern, regex: new RegExp(`^${body}(/.*)?$`) }
    })
}

export function isIgnored(rules: Rule[], path: string): boolean {
  return rules.reduce((ignored, rule) => (rule.regex.test(path) ? !rule.negate : ignored), false)
}

/**
 * The files of the build context, relative to dir. An ignored directory is not entered:
 * right as long as no exception names a path inside one (the test checks that).
 */
export function contextFiles(dir: string, rules: Rule[], prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (isIgnored(rules, path)) return []
    return entry.isDirectory() ? contextFiles(dir, rules, path) : [path]
  })
}
