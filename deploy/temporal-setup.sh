#!/bin/sh
# Creates the namespace the app uses and registers the custom search attributes its workflows
# set. The temporal-setup service runs it once the server is up; running it again changes nothing.
#
#   TEMPORAL_ADDRESS    frontend host:port, e.g. temporal:7233
#   TEMPORAL_NAMESPACE  namespace to create when missing, e.g. default
#   SEARCH_ATTRIBUTES   space-separated Name=Type pairs, e.g. "MemberId=Keyword Tier=Keyword"
set -eu

# retry TIMES COMMAND...: runs COMMAND until it succeeds, at most TIMES times, 2 s apart.
retry() {
  tries_left=$1
  shift
  until "$@"; do
    tries_left=$((tries_left - 1))
    [ "$tries_left" -gt 0 ] || return 1
    sleep 2
  done
}

# run_tolerating_exists COMMAND...: succeeds when COMMAND does or says the thing already exists.
run_tolerating_exists() {
  if output=$("$@" 2>&1); then
    return 0
  fi
  case $output in
    *"already exists"* | *"AlreadyExists"*) return 0 ;;
  esac
  echo "$output" >&2
  return 1
}

cli() {
  temporal "$@" --address "$TEMPORAL_ADDRESS"
}

echo "Waiting for Temporal at $TEMPORAL_ADDRESS"
retry 60 cli operator cluster health >/dev/null

if cli operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "Namespace $TEMPORAL_NAMESPACE exists"
else
  run_tolerating_exists cli operator namespace create --namespace "$TEMPORAL_NAMESPACE"
  echo "Namespace $TEMPORAL_NAMESPACE created"
fi

# A namespace that was just created can take a few seconds to reach the frontend's cache: retry.
for pair in $SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  retry 15 run_tolerating_exists cli operator search-attribute create \
    --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"
  echo "Search attribute $name ($type) registered"
done
