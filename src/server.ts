import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import closeWithGrace from 'close-with-grace'
import app, { serverOptionsFor } from './app.js'
import { ConfigError, loadConfig } from './config/index.js'
import { createLogger, secretsOf } from './logger.js'

// The process entry: configuration, logger, the Fastify instance, the listener,
// and a graceful stop on SIGINT/SIGTERM.

async function main(): Promise<void> {
  let loaded
  try {
    loaded = loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`pcr-sidecar: ${err.message}\n`)
    process.exit(2)
  }
  const { config, warnings } = loaded
  const logger = createLogger({ level: config.server.logLevel, secrets: secretsOf(config) })
  for (const warning of warnings) logger.warn(warning)
  // With TLS_CERT_FILE and TLS_KEY_FILE the same routes are served over HTTPS only.
  const https = config.tls === undefined ? null : { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }
  let fastify
  try {
    fastify = Fastify({ ...serverOptionsFor(config), loggerInstance: logger, https })
  } catch (err) {
    // Readable files that are not a matching PEM certificate and key: OpenSSL says why, in one line.
    if (https === null) throw err
    process.stderr.write(`pcr-sidecar: TLS_CERT_FILE / TLS_KEY_FILE: not a usable certificate and key (${(err as Error).message})\n`)
    process.exit(2)
  }
  await fastify.register(app, { config })
  closeWithGrace({ delay: 10_000, logger }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'stopping after an error')
    else logger.info({ signal }, 'stopping')
    await fastify.close()
  })
  await fastify.listen({ port: config.server.port, host: config.server.host })
}

await main()
