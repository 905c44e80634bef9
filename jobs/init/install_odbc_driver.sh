#!/bin/bash
# Cluster init script for the serving load: Microsoft ODBC Driver 18 for SQL Server, which
# pyodbc needs to reach Azure SQL and which the Databricks Runtime does not ship.
# Runs as root on every node when the job cluster starts (Ubuntu-based runtime images).
set -euo pipefail
if odbcinst -q -d -n "ODBC Driver 18 for SQL Server" >/dev/null 2>&1; then
  exit 0
fi
. /etc/os-release
curl -fsSL https://packages.microsoft.com/keys/microsoft.asc | gpg --dearmor -o /usr/share/keyrings/microsoft-prod.gpg
echo "deb [arch=amd64 signed-by=/usr/share/keyrings/microsoft-prod.gpg] https://packages.microsoft.com/ubuntu/${VERSION_ID}/prod ${VERSION_CODENAME} main" \
  > /etc/apt/sources.list.d/mssql-release.list
apt-get update -qq
ACCEPT_EULA=Y DEBIAN_FRONTEND=noninteractive apt-get install -y -qq msodbcsql18 unixodbc
