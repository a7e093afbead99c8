import t from 'tap'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

// The repository stands alone: a clone with nothing beside it (scripts/clone-check.sh runs
// this file in one) has every file its documents link to, and no file reaches for a
// folder beside the checkout.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const skipped = new Set(['node_modules', '.git', 'dist', 'coverage', '.tap', 'test-artifacts'])

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (skipped.has(entry.name)) return []
    const path = join(dir, entry.name)
    return entry.isDirectory() ? files(path) : entry.isFile() ? [relative(root, path)] : []
  })
}

const all = files(root)
const text = all.filter((f) => !/\.(png|jpe?g|gif|ico|svg)$/.test(f) && statSync(join(root, f)).size < 4_000_000)

t.test('no file reads or links the shared folder beside the checkout', async (t) => {
  const outside = /(\.\.\/)+shared\b/
  const offenders = text.filter((f) => outside.test(readFileSync(join(root, f), 'utf8')))
  t.same(offenders, [], 'the Cloud API specification is docs/cloud-api/openapi.json, inside the repository')
})

t.test('every relative link in the Markdown files points at a file inside the repository', async (t) => {
  const markdown = all.filter((f) => f.endsWith('.md'))
  t.ok(markdown.includes('README.md'))
  const broken: string[] = []
  let checked = 0
  for (const file of markdown) {
    const source = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '')
    for (const [, target = ''] of source.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (/^([a-z][a-z0-9+.-]*:|#)/i.test(target)) continue
      const path = resolve(root, dirname(file), decodeURIComponent(target.replace(/#.*$/, '')))
      checked++
      const inside = path === root || path.startsWith(root + sep)
      if (!inside || !existsSync(path)) broken.push(`${file}: ${target}${inside ? '' : ' (outside the repository)'}`)
    }
  }
  t.ok(checked > 20, `${checked} links checked`)
  t.same(broken, [], 'no broken link')
})
