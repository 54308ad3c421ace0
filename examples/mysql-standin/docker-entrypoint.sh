#!/bin/sh
# The stand-in mysql image's entrypoint (see README.md here). Like the real image's, it
# refuses to start without a root password option, and runs what CMD says; for `mysqld` it
# serves, on MySQL's port 3306, the name of the Pod that answered the request (busybox
# httpd), so a client can see which Pod a Service sent it to.
set -e
if [ "$1" != mysqld ]; then
  exec "$@"
fi
if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ] &&
  [ -z "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
  echo "error: database is uninitialized and password option is not specified" >&2
  echo "  You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD" >&2
  exit 1
fi
mkdir -p /var/lib/mysql
hostname >/var/lib/mysql/index.html
echo "[Note] mysqld (korc stand-in): ready for connections. port: 3306"
httpd -f -p 3306 -h /var/lib/mysql &
pid=$!
# PID 1 of its container gets no default signal handling: stop on TERM as mysqld does.
trap 'kill "$pid"; wait "$pid"; echo "[Note] mysqld (korc stand-in): Shutdown complete"; exit 0' TERM INT
wait "$pid"
