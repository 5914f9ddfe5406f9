#!/bin/sh
# A node of the scale profile's cluster: writes the Erlang cookie the three nodes share (nodes
# and the CLI tools authenticate to each other with it), then starts like the single broker
# (start.sh: users and permissions from definitions.json, then RabbitMQ). The cookie goes in the
# data directory, which the image links from root's home too, so rabbitmq-diagnostics finds it.
set -eu
case "${GOZON_RABBITMQ_COOKIE:-}" in
  '') echo "cluster-start.sh: GOZON_RABBITMQ_COOKIE is unset or empty" >&2; exit 1 ;;
esac
cookie=/var/lib/rabbitmq/.erlang.cookie
rm -f "$cookie"
printf '%s' "$GOZON_RABBITMQ_COOKIE" > "$cookie"
chown rabbitmq:rabbitmq "$cookie"
chmod 400 "$cookie"
exec sh /etc/gozon/start.sh "$@"
