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

// What follows the userinfo: the same for every caller of one cluster, so GET /connection prepares it once.
export function connectionTail(c: Omit<ConnectionTarget, 'user' | 'password'>): string {
  return `${hostPort(c.host, c.port)}/${encodeURIComponent(c.database)}?sslmode=${c.sslmode}`
}

// The whole URL from a prepared tail and the credentials, which only go in encoded.
export function connectionStringAt(tail: string, user?: string, password?: string): string {
  const userinfo = user === undefined ? '' : `${encodeUserinfo(user)}${password === undefined ? '' : `:${encodeUserinfo(password)}`}@`
  return `postgresql://${userinfo}${tail}`
}

export function connectionString(c: ConnectionTarget): string {
  return connectionStringAt(connectionTail(c), c.user, c.password)
}
