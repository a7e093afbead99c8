import { hostPort } from './sql/host-port.js'

// The postgresql:// URL applications are handed (GET /connection, pcr connection).

// encodeURIComponent leaves !'()* alone; they are encoded too so that every
// parser reads back exactly the credentials that were sent.
export function encodeUserinfo(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export interface ConnectionTarget {
  host: string
  port: number
  database: string
  sslmode: string
  // Without a user there is no userinfo; a password only goes with a user.
  user?: string
  password?: string
}

export function connectionString(c: ConnectionTarget): string {
  const userinfo = c.user === undefined ? '' : `${encodeUserinfo(c.user)}${c.password === undefined ? '' : `:${encodeUserinfo(c.password)}`}@`
  return `postgresql://${userinfo}${hostPort(c.host, c.port)}/${encodeURIComponent(c.database)}?sslmode=${c.sslmode}`
}
