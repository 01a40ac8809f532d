#!/usr/bin/env bash
# A local three-replica cluster from dist/bin (./build.sh first): three aurora-scheduler replicas
# replicating one log on loopback, and one aurora-agent that knows all three. For trying failover:
# kill the leader and watch another take over.
#
#   scripts/dev-cluster.sh start     # initialise (first time) and start everything in the background
#   scripts/dev-cluster.sh status    # each replica's role, term and positions
#   scripts/dev-cluster.sh leader    # the leader's URL
#   scripts/dev-cluster.sh kill-leader   # kill -9 the leader (start it again with: start)
#   scripts/dev-cluster.sh stop      # stop everything (the data stays; remove DIR to start over)
#
# Environment: AURORA_DEV_CLUSTER_DIR (default ./.aurora-dev-cluster), AURORA_DEV_HTTP_PORT (first of
# three HTTP ports, default 8081), AURORA_DEV_REPLICATION_PORT (first of three, default 8181).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/dist/bin"
dir="${AURORA_DEV_CLUSTER_DIR:-$PWD/.aurora-dev-cluster}"
http0="${AURORA_DEV_HTTP_PORT:-8081}"
repl0="${AURORA_DEV_REPLICATION_PORT:-8181}"
replicas=3

die() { echo "dev-cluster: $*" >&2; exit 1; }
[[ -x "$bin/aurora-scheduler" && -x "$bin/aurora-agent" && -x "$bin/aurora-log" ]] || die "dist/bin lacks the executables: run ./build.sh first"

url() { echo "http://127.0.0.1:$((http0 + $1))"; }
members() { local list=() i; for ((i = 0; i < replicas; i++)); do list+=("127.0.0.1:$((repl0 + i))"); done; (IFS=,; echo "${list[*]}"); }
urls() { local list=() i; for ((i = 0; i < replicas; i++)); do list+=("$(url "$i")"); done; (IFS=,; echo "${list[*]}"); }
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

leader() {
  local i
  for ((i = 0; i < replicas; i++)); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$(url "$i")/leaderhealth" || true)" == 200 ]]; then
      url "$i"; return 0
    fi
  done
  return 1
}

start() {
  mkdir -p "$dir"
  if [[ ! -f "$dir/secret" ]]; then
    head -c 32 /dev/urandom > "$dir/secret"
    chmod 600 "$dir/secret"
  fi
  # The agent's credential (aurora-agent -credential) and the schedulers' accepted ones (-agent_credentials).
  if [[ ! -f "$dir/agent_credential" ]]; then
    (umask 077; echo "dev-agent $(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$dir/agent_credential")
  fi

  local i
  for ((i = 0; i < replicas; i++)); do
    local r="$dir/r$i"
    if [[ ! -f "$r/log/replica.meta" ]]; then
      mkdir -p "$r/log"
      "$bin/aurora-log" initialize --path="$r/log" --cluster_name=devcluster > /dev/null
    fi
    if alive "$r/pid"; then continue; fi
    nohup "$bin/aurora-scheduler" -cluster_name=devcluster -ip=127.0.0.1 -http_port=$((http0 + i)) \
      -native_log_file_path="$r/log" -backup_dir="$r/backups" \
      -native_log_replicas="$(members)" -replication_port=$((repl0 + i)) -replication_secret_file="$dir/secret" \
      -agent_credentials="$dir/agent_credential" \
      > "$r/scheduler.log" 2>&1 &
    echo $! > "$r/pid"
    echo "replica r$i: $(url "$i") (pid $!, log $r/scheduler.log)"
  done

  if ! alive "$dir/agent.pid"; then
    mkdir -p "$dir/agent"
    nohup "$bin/aurora-agent" -scheduler="$(urls)" -work_dir="$dir/agent" -ip=127.0.0.1 -http_port=0 -nosetuid \
      -credential="$dir/agent_credential" \
      > "$dir/agent.log" 2>&1 &
    echo $! > "$dir/agent.pid"
    echo "agent: pid $! (log $dir/agent.log)"
  fi

  local deadline=$((SECONDS + 60))
  until leader > /dev/null; do
    (( SECONDS < deadline )) || die "no leader after 60 s; see $dir/r*/scheduler.log"
    sleep 0.2
  done
  echo "leader: $(leader)"
}

stop() {
  local pidfile
  for pidfile in "$dir"/agent.pid "$dir"/r*/pid; do
    [[ -f "$pidfile" ]] || continue
    if alive "$pidfile"; then kill -TERM "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
  for pidfile in "$dir"/agent.pid "$dir"/r*/pid; do
    [[ -f "$pidfile" ]] || continue
    local pid; pid="$(cat "$pidfile")"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

status() {
  local i
  for ((i = 0; i < replicas; i++)); do
    printf 'r%d %s ' "$i" "$(url "$i")"
    curl -s --max-time 1 "$(url "$i")/api/scheduler" | tr -d '\n' | head -c 400 || printf 'down'
    echo
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  leader) leader || die "no leader is known" ;;
  kill-leader)
    target="$(leader)" || die "no leader is known"
    port="${target##*:}"
    i=$((port - http0))
    kill -KILL "$(cat "$dir/r$i/pid")"
    echo "killed r$i ($target); a new leader within a second or two: scripts/dev-cluster.sh leader"
    ;;
  *) die "usage: $0 start|stop|status|leader|kill-leader" ;;
esac
