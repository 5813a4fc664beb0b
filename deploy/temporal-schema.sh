#!/bin/sh
# Creates Temporal's two databases in the shared Postgres and brings their schemas up to the
# version this admin-tools image ships. The temporal-schema service runs it before the server.
#
# Every step is idempotent (an existing database is kept, applied versions are skipped), so the
# job runs on each `docker compose up` and is also the schema upgrade after a Temporal bump.
# It reads the variables the server reads (DB, POSTGRES_SEEDS, DB_PORT, POSTGRES_USER,
# POSTGRES_PWD, DBNAME, VISIBILITY_DBNAME): both always point at the same databases.
set -eu

schema_root=/etc/temporal/schema/postgresql/v12
# temporal-sql-tool reads the password from here, which keeps it off the command line.
export SQL_PASSWORD="$POSTGRES_PWD"

sql_tool() {
  temporal-sql-tool --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

# setup_database NAME SCHEMA, where SCHEMA is "temporal" or "visibility".
setup_database() {
  echo "Temporal database $1: $2 schema"
  sql_tool --db "$1" create-database
  sql_tool --db "$1" setup-schema -v 0.0
  sql_tool --db "$1" update-schema -d "$schema_root/$2/versioned"
}

setup_database "$DBNAME" temporal
setup_database "$VISIBILITY_DBNAME" visibility
echo "Temporal schemas are up to date"
