#!/bin/sh
# Points a Route 53 CNAME at the active cluster's SQL host. pcr-sidecar runs it
# as ON_FAILOVER_COMMAND with the event in PCR_* variables; see README.md here.
set -eu

fail() {
  echo "update-record.sh: $1" >&2
  exit 1
}

# Checked before anything else, so a misconfigured hook shows at the first event, not at the failover.
[ -n "${ROUTE53_HOSTED_ZONE_ID:-}" ] || fail 'ROUTE53_HOSTED_ZONE_ID is not set (the hosted zone that holds the record)'
[ -n "${ROUTE53_RECORD_NAME:-}" ] || fail 'ROUTE53_RECORD_NAME is not set (the name applications connect to, e.g. db.example.com)'
ttl="${ROUTE53_TTL:-30}"
case "$ttl" in '' | *[!0-9]*) fail "ROUTE53_TTL must be a whole number of seconds, not '$ttl'" ;; esac

host="${PCR_ACTIVE_SQL_HOST:-}"
if [ -z "$host" ]; then
  echo "event ${PCR_EVENT_TYPE:-?} names no active cluster: $ROUTE53_RECORD_NAME left as it is"
  exit 0
fi

# The values go into JSON as they are: allow only what a DNS name can hold.
case "$host$ROUTE53_RECORD_NAME$ROUTE53_HOSTED_ZONE_ID" in *[!A-Za-z0-9._*/-]*) fail 'a host, record name or zone id holds a character a DNS name cannot' ;; esac
cluster="${PCR_ACTIVE_CLUSTER_ID:-}"
case "$cluster" in *[!A-Za-z0-9-]*) cluster='' ;; esac

batch=$(printf '{"Comment":"pcr-sidecar: active cluster %s","Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"%s","Type":"CNAME","TTL":%s,"ResourceRecords":[{"Value":"%s"}]}}]}' \
  "$cluster" "$ROUTE53_RECORD_NAME" "$ttl" "$host")

echo "UPSERT CNAME $ROUTE53_RECORD_NAME -> $host (TTL $ttl) in hosted zone $ROUTE53_HOSTED_ZONE_ID"
if [ "${PCR_ACTIVE_SQL_PORT:-26257}" != 26257 ]; then
  echo "note: a CNAME carries no port; applications must use port $PCR_ACTIVE_SQL_PORT" >&2
fi
aws route53 change-resource-record-sets --hosted-zone-id "$ROUTE53_HOSTED_ZONE_ID" --change-batch "$batch" --output json
