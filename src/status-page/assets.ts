import { readFileSync } from 'node:fs'

// The status page is three plain files beside this one (no build step, nothing
// fetched from elsewhere), read once when the routes are registered.
export interface StatusPageAssets {
  html: string
  script: string
  style: string
}

export function loadStatusPage(): StatusPageAssets {
  const read = (name: string) => readFileSync(new URL(name, import.meta.url), 'utf8')
  return { html: read('index.html'), script: read('page.js'), style: read('page.css') }
}
