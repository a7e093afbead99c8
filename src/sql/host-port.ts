// `host:port` of a SQL endpoint; an IPv6 address needs brackets there, as in a URL.
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
