import type { Client } from 'pg'
import { createSqlConnector, SqlError, type SqlTarget } from './connector.js'

// SET CLUSTER SETTING takes no bind parameters, so both name and value are written
// into the statement: the name only if it is plainly a setting name, the value as
// a string literal, which CockroachDB casts to the setting's type.

const settingName = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$/
// Control characters (NUL included), line separators and lone surrogates.
const unprintable = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]/u

// JSON escapes control characters but leaves line separators as they are.
const quoted = (text: string) =>
  JSON.stringify(text).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)

function checkedName(name: string): string {
  if (!settingName.test(name)) {
    throw new RangeError(
      `invalid cluster setting name ${quoted(name)}: expected dotted lower-case identifiers such as server.time_until_store_dead`
    )
  }
  return name
}

/** `SET CLUSTER SETTING <name> = '<value>'`, the value quoted with its single quotes doubled. */
export function buildSetClusterSetting(name: string, value: string): string {
  checkedName(name)
  if (unprintable.test(value)) {
    throw new RangeError(`invalid value for cluster setting ${name}: control characters and line breaks are not allowed`)
  }
  return `SET CLUSTER SETTING ${name} = '${value.replaceAll("'", "''")}'`
}

/** `SHOW CLUSTER SETTING <name>`. */
export function showClusterSetting(name: string): string {
  return `SHOW CLUSTER SETTING ${checkedName(name)}`
}

export interface ClusterSettingChange {
  /** The value as the server shows it, e.g. 00:05:00 for a duration. */
  before: string | null
  after: string | null
}

// Values come back as the server prints them, not as pg would parse their types.
const asText = { getTypeParser: () => (text: string) => text }

async function readSetting(client: Client, text: string): Promise<string | null> {
  const { rows } = await client.query<[string | null]>({ text, rowMode: 'array', types: asText })
  return rows[0]?.[0] ?? null
}

/**
 * Shows the setting, sets it, and shows it again, each statement on its own:
 * CockroachDB refuses SET CLUSTER SETTING inside an explicit transaction.
 * Rejects with a RangeError for an invalid name or value, before connecting, and
 * with a one-line SqlError naming the failed statement otherwise.
 */
export async function executeClusterSetting(
  options: SqlTarget & { name: string; value: string }
): Promise<ClusterSettingChange> {
  const { name, value } = options
  const show = showClusterSetting(name)
  const set = buildSetClusterSetting(name, value)
  const connector = createSqlConnector(options)
  // Names the statement that failed; the SET is named without its value.
  let step: string | undefined
  try {
    return await connector.run(async (client) => {
      step = show
      const before = await readSetting(client, show)
      step = `SET CLUSTER SETTING ${name}`
      await client.query(set)
      step = show
      const after = await readSetting(client, show)
      return { before, after }
    })
  } catch (err) {
    const { kind, message } = err as SqlError
    throw new SqlError(kind, step === undefined ? message : `${step}: ${message}`)
  }
}
