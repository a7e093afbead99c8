import { request } from 'undici'
import { waitFor } from '../tools/wait-for.js'

// Small HTTP helpers for reading the service between measured runs.

/** What an application sends to GET /connection. */
export const credentials = { 'x-db-username': 'app', 'x-db-password': 'bench-password-0123' }

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; bytes: number }> {
  const res = await request(url, { headers })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text), bytes: Buffer.byteLength(text) }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Until the URL answers 200: /ready once the active cluster is known, /connection once its SQL host is too. */
export async function waitForOk(url: string, headers: Record<string, string> = {}, timeoutMs = 30_000, pollMs = 20): Promise<void> {
  await waitFor(`${url} to answer 200`, async () => (await getJson(url, headers)).status === 200, { timeoutMs, intervalMs: pollMs })
}
