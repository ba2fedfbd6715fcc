#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A local ClickHouse for sysscope's agent and query (and the tests):
#   scripts/clickhouse-dev.sh start    Debian's clickhouse-server on 127.0.0.1
#   scripts/clickhouse-dev.sh stop
# Its data, logs and configuration live in one folder of its own:
#   CLICKHOUSE_DIR        (default /var/tmp/sysscope-clickhouse)
#   CLICKHOUSE_HTTP_PORT  (default 8123)   CLICKHOUSE_TCP_PORT (default 9000)
# Users: "default" (no password) and "sysscope" (password
# $CLICKHOUSE_PASSWORD, default "sysscope-dev").
set -eu

DIR=${CLICKHOUSE_DIR:-/var/tmp/sysscope-clickhouse}
HTTP_PORT=${CLICKHOUSE_HTTP_PORT:-8123}
TCP_PORT=${CLICKHOUSE_TCP_PORT:-9000}
PASSWORD=${CLICKHOUSE_PASSWORD:-sysscope-dev}

install_server() {
	command -v clickhouse-server >/dev/null 2>&1 && return 0
	echo "clickhouse-dev: installing clickhouse-server" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server >/dev/null
}

write_config() {
	mkdir -p "$DIR/data" "$DIR/tmp" "$DIR/log" "$DIR/user_files" "$DIR/format_schemas"
	cat >"$DIR/config.xml" <<XML
<yandex>
  <logger>
    <level>warning</level>
    <log>$DIR/log/server.log</log>
    <errorlog>$DIR/log/server.err.log</errorlog>
    <size>10M</size><count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$HTTP_PORT</http_port>
  <tcp_port>$TCP_PORT</tcp_port>
  <path>$DIR/data/</path>
  <tmp_path>$DIR/tmp/</tmp_path>
  <user_files_path>$DIR/user_files/</user_files_path>
  <format_schema_path>$DIR/format_schemas/</format_schema_path>
  <users_config>$DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <max_concurrent_queries>50</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
</yandex>
XML
	cat >"$DIR/users.xml" <<XML
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota>
    </default>
    <sysscope>
      <password>$PASSWORD</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota>
    </sysscope>
  </users>
  <quotas><default></default></quotas>
</yandex>
XML
}

running() {
	[ -f "$DIR/server.pid" ] && kill -0 "$(cat "$DIR/server.pid")" 2>/dev/null
}

start() {
	install_server
	if running; then
		echo "clickhouse-dev: already running (pid $(cat "$DIR/server.pid"))"
		return 0
	fi
	write_config
	rm -f "$DIR/server.pid"
	clickhouse-server --config-file="$DIR/config.xml" \
		--pid-file="$DIR/server.pid" --daemon
	i=0
	until curl -fsS "http://127.0.0.1:$HTTP_PORT/ping" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			echo "clickhouse-dev: not answering on 127.0.0.1:$HTTP_PORT; see $DIR/log/" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "clickhouse-dev: http://127.0.0.1:$HTTP_PORT/ (data in $DIR)"
}

stop() {
	if ! running; then
		echo "clickhouse-dev: not running"
		return 0
	fi
	pid=$(cat "$DIR/server.pid")
	kill "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 300 ] && kill -9 "$pid" 2>/dev/null
		sleep 0.1
	done
	rm -f "$DIR/server.pid"
	echo "clickhouse-dev: stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
