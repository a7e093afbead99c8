import { join } from 'node:path'
import { root } from './dockerfile.js'

// A service's environment as its container sees it, with each Compose secret it lists
// (mounted at /run/secrets/<name>) read from the file docker-compose.yml names instead.

export interface ComposeSecrets {
  [name: string]: { file: string }
}

export function environmentOf(service: { environment?: Record<string, string>; secrets?: string[] }, secrets: ComposeSecrets = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([name, value]) => {
      const secret = /^\/run\/secrets\/([\w.-]+)$/.exec(value)?.[1]
      const file = secret !== undefined && service.secrets?.includes(secret) ? secrets[secret]?.file : undefined
      return [name, file === undefined ? value : join(root, file)]
    })
  )
}
