import pino, { type DestinationStream, type Logger } from 'pino'
import type { Config, LogLevel } from './config/index.js'

// Known secrets are removed from every line before it is written, whatever
// carried them there (a message, an error, a serialized object); the redact
// paths cover the headers through which request secrets arrive.

const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-db-password"]',
  'headers.authorization',
  'headers["x-db-password"]',
  '*.password',
  '*.apiKey',
  '*.adminToken',
  'admin.token',
  'admin.readToken',
  '*.connection_string'
]

// Variables passed on to the hook command whose names say they hold a credential
// (AWS_SECRET_ACCESS_KEY, an API token): what the command prints of them is scrubbed too.
const credentialName = /SECRET|TOKEN|PASSW|CREDENTIAL|PRIVATE|_KEY/i

export function secretsOf(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets = [config.pair.apiKey, config.admin.token, config.admin.readToken, config.coordination.etcd?.password]
  for (const name of config.hooks.envPassthrough) if (credentialName.test(name)) secrets.push(env[name])
  const { proxy } = config
  for (const endpoint of [config.sql.primaryEndpoint, config.sql.standbyEndpoint, config.pgbouncer?.adminUrl, proxy.httpsProxy, proxy.httpProxy]) {
    if (endpoint === undefined) continue
    const url = new URL(endpoint)
    secrets.push(decodeURIComponent(url.password), url.password)
  }
  // A webhook URL is a credential (Slack's are): the whole URL and its path are secret.
  const { webhookUrl } = config.hooks
  if (webhookUrl !== undefined) {
    const url = new URL(webhookUrl)
    secrets.push(webhookUrl, url.password, decodeURIComponent(url.password))
    if (url.pathname.length + url.search.length >= 16) secrets.push(`${url.pathname}${url.search}`)
  }
  return secrets.filter((s): s is string => s !== undefined && s.length >= 4)
}

export function scrubber(secrets: readonly string[]): (line: string) => string {
  // JSON escapes a secret with quotes or backslashes, so look for that form too.
  const forms = [...new Set(secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))].sort((a, b) => b.length - a.length)
  return (line) => forms.reduce((out, secret) => out.replaceAll(secret, '[REDACTED]'), line)
}

export function createLogger(
  options: { level: LogLevel; secrets: readonly string[] },
  destination: DestinationStream = pino.destination(1)
): Logger {
  const scrub = scrubber(options.secrets)
  return pino(
    { level: options.level, redact: { paths: redactPaths, censor: '[REDACTED]' } },
    { write: (line: string) => destination.write(scrub(line)) }
  )
}
