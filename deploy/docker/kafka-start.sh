#!/usr/bin/env bash
# Entrypoint of docker-compose.yml's kafka service (the apache/kafka image), for a secured broker.
#
# The image formats the KRaft storage itself, but cannot seed SCRAM users, and a secured broker
# whose storage has none lets nobody in. So on the first start only (no meta.properties yet)
# this formats the storage with one SCRAM-SHA-256 user per MAPPA principal; then it hands over
# to the image's own start script, which finds the storage formatted and leaves it as it is.
#
# - Passwords: the MAPPA_PASSWORD_<PRINCIPAL> variables of the .env file that
#   deploy/docker/compose_env.py writes (POLICE -> police, CHILDRENS_SERVICES -> childrens-services).
# - Broker config: the KAFKA_* variables, turned into properties by the image's own rules
#   (KAFKA_ dropped, lower case, _ -> ., then ... -> - and .. -> _), minus the image's own
#   settings that are not broker properties.
# - It also writes an admin client config for the healthcheck (readable by this user only).
#
# MAPPA_KAFKA_HOME, IMAGE_RUN and CLIENT_CONFIG are there for the unit test that runs this script
# without Docker.
set -euo pipefail

MAPPA_KAFKA_HOME=${MAPPA_KAFKA_HOME:-/opt/kafka}
IMAGE_RUN=${IMAGE_RUN:-/etc/kafka/docker/run}
CLIENT_CONFIG=${CLIENT_CONFIG:-/tmp/mappa-admin.properties}
: "${CLUSTER_ID:?CLUSTER_ID must be set}" "${KAFKA_LOG_DIRS:?KAFKA_LOG_DIRS must be set}"
: "${MAPPA_PASSWORD_ADMIN:?no MAPPA_PASSWORD_ADMIN: run 'python3 deploy/docker/compose_env.py' first}"

# The image's settings that KafkaDockerWrapper keeps out of server.properties.
not_properties=" KAFKA_GC_LOG_OPTS KAFKA_HEAP_OPTS KAFKA_JMX_HOSTNAME KAFKA_JMX_OPTS"
not_properties+=" KAFKA_JVM_PERFORMANCE_OPTS KAFKA_LOG4J_LOGGERS KAFKA_LOG4J_OPTS"
not_properties+=" KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_OPTS KAFKA_TOOLS_LOG4J_LOGLEVEL KAFKA_VERSION "

render_properties() {
    local var key
    for var in $(compgen -e); do
        [[ $var == KAFKA_* && $not_properties != *" $var "* ]] || continue
        key=${var#KAFKA_}
        key=${key,,}
        key=${key//_/.}
        key=${key//.../-}
        key=${key//../_}
        printf '%s=%s\n' "$key" "${!var}"
    done
}

(
    umask 077
    cat >"$CLIENT_CONFIG" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$MAPPA_PASSWORD_ADMIN";
EOF
)

if [[ ! -f $KAFKA_LOG_DIRS/meta.properties ]]; then
    scram=()
    for var in $(compgen -e); do
        [[ $var == MAPPA_PASSWORD_* ]] || continue
        name=${var#MAPPA_PASSWORD_}
        name=${name,,}
        name=${name//_/-}
        scram+=(--add-scram "SCRAM-SHA-256=[name=$name,password=${!var}]")
    done
    config=$(mktemp)
    render_properties >"$config"
    echo "===> MAPPA Bus: formatting $KAFKA_LOG_DIRS with $((${#scram[@]} / 2)) SCRAM users"
    # Its standard output lists the SCRAM salts and keys: not for the container log.
    "$MAPPA_KAFKA_HOME/bin/kafka-storage.sh" format --cluster-id "$CLUSTER_ID" -c "$config" \
        "${scram[@]}" >/dev/null
    rm -f -- "$config"
fi

exec "$IMAGE_RUN"
