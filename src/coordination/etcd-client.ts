import { readFileSync } from 'node:fs'
import { Etcd3, type IOptions } from 'etcd3'
import type { EtcdConfig } from '../config/index.js'

// The etcd client from the settings. Every call gets a deadline: a call to an
// unreachable etcd must fail within a bound, never hang the check loop.
export function createEtcdClient(settings: EtcdConfig, callTimeoutMs: number): Etcd3 {
  const options: IOptions = {
    hosts: settings.endpoints,
    dialTimeout: callTimeoutMs,
    // gRPC otherwise shares connections between clients of one process, and a shared one
    // to a member that was down can keep failing after the member is back.
    grpcOptions: { 'grpc.use_local_subchannel_pool': 1 },
    defaultCallOptions: (context) =>
      // Watches and lease keep-alives are long-lived streams, not calls with an end.
      context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }
  }
  if (settings.caFile !== undefined) {
    options.credentials = {
      rootCertificate: readFileSync(settings.caFile),
      privateKey: settings.keyFile === undefined ? undefined : readFileSync(settings.keyFile),
      certChain: settings.certFile === undefined ? undefined : readFileSync(settings.certFile)
    }
  }
  if (settings.username !== undefined && settings.password !== undefined) {
    options.auth = { username: settings.username, password: settings.password }
  }
  return new Etcd3(options)
}
