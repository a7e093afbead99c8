import { Option, type Command } from 'commander'
import { connectionString } from '../../connection-string.js'
import type { ActiveJson, Unavailable } from '../backend.js'
import type { Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'

// Where applications connect now, for scripts and applications that read the
// libpq variables (the Python tool's "environment variable setup for legacy
// applications"). The password is printed only when asked for, and only from PGPASSWORD.

interface ConnectionOptions {
  env?: boolean
  json?: boolean
  user?: string
  withPassword?: boolean
}

// One shell word, whatever the value holds.
const quoted = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`

const isUnavailable = (answer: ActiveJson | Unavailable): answer is Unavailable => !('cluster_id' in answer)

export function registerConnection(program: Command, ctx: Context): void {
  program
    .command('connection')
    .description('print the connection string of the active cluster, or with --env the PGHOST, PGPORT, PGDATABASE and PGSSLMODE lines for eval "$(pcr connection --env)"; from the Cloud API, or from a running sidecar with --url. The password is never printed without --with-password')
    .addOption(new Option('--env', 'print export lines for a shell: PGHOST, PGPORT, PGDATABASE, PGSSLMODE (PGUSER when a user is known)').conflicts('json'))
    .option('--json', 'print the GET /active answer with connection_string')
    .option('--user <name>', 'the SQL user to put in the string (default: PGUSER)')
    .option('--with-password', 'include the password (with --env, a PGPASSWORD line), taken from PGPASSWORD, never from the command line')
    .addHelpText('after', '\nExit codes: 0 printed, 1 no cluster is handed out now (failing over, activating), 3 the active cluster is not known.')
    .action(
      ctx.action(async (opts: ConnectionOptions, command: Command) => {
        const user = opts.user ?? ctx.env().PGUSER
        let password: string | undefined
        if (opts.withPassword === true) {
          password = ctx.env().PGPASSWORD
          if (password === undefined) {
            throw new CliError(EXIT.usage, '--with-password takes the password from PGPASSWORD, which is not set (it is never read from the command line)')
          }
          if (user === undefined) throw new CliError(EXIT.usage, '--with-password needs a user: --user or PGUSER')
        }
        const answer = await ctx.withBackend(command, {}, (backend) => backend.active())
        if (isUnavailable(answer)) {
          if (answer.code === 'unknown') throw new CliError(EXIT.unreachable, answer.message)
          throw new CliError(EXIT.failed, `no cluster is handed to applications now: ${answer.message}; try again shortly`)
        }
        const url = connectionString({ ...answer, user, password })
        if (opts.json === true) ctx.out.json({ ...answer, connection_string: url })
        else if (opts.env === true) {
          const lines: Array<[string, string | number | undefined]> = [
            ['PGHOST', answer.host],
            ['PGPORT', answer.port],
            ['PGDATABASE', answer.database],
            ['PGSSLMODE', answer.sslmode],
            ['PGUSER', user],
            ['PGPASSWORD', password]
          ]
          for (const [name, value] of lines) if (value !== undefined) ctx.out.line(`export ${name}=${quoted(String(value))}`)
        } else ctx.out.line(url)
        return EXIT.ok
      })
    )
}
