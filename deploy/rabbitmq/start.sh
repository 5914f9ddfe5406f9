#!/bin/sh
# Renders definitions.json with the passwords from the environment, then starts RabbitMQ as the
# image would. A password may not contain a double quote or a backslash (they would need escaping).
set -eu
mkdir -p /tmp/gozon
for name in GOZON_ADMIN_AMQP_PASSWORD GOZON_OPERATOR_AMQP_PASSWORD GOZON_ORDERS_AMQP_PASSWORD GOZON_PAYMENTS_AMQP_PASSWORD; do
  value=$(printenv "$name" || true)
  case "$value" in
    '') echo "start.sh: $name is unset or empty" >&2; exit 1 ;;
    *\"* | *\\*) echo "start.sh: $name may not contain a double quote or a backslash" >&2; exit 1 ;;
  esac
done
awk '{
  while (match($0, /\$\{GOZON_[A-Z_]+\}/)) {
    name = substr($0, RSTART + 2, RLENGTH - 3)
    $0 = substr($0, 1, RSTART - 1) ENVIRON[name] substr($0, RSTART + RLENGTH)
  }
  print
}' /etc/gozon/definitions.json > /tmp/gozon/definitions.json
chown -R rabbitmq:rabbitmq /tmp/gozon 2>/dev/null || true
chmod 600 /tmp/gozon/definitions.json
exec docker-entrypoint.sh "$@"
