#!/usr/bin/env bash
# Prepare a machine for delayhub: Debian packages it needs, then .venv/ from requirements.lock.
# Safe to run again: it installs only what is missing. Called by `make setup` (and so by
# `make demo` and `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
# unixodbc: pyodbc loads libodbc at import time. libsqliteodbc, odbc-postgresql, odbc-mariadb:
# the ODBC drivers the odbc connector reads back offices with ('SQLite3', 'PostgreSQL Unicode',
# 'MariaDB Unicode' in /etc/odbcinst.ini); the demo's factory-licence database is a SQLite file.
# fonts-tlwg-laksaman-ttf: the TH Sarabun-style font the letters are typeset in (typst reads it
# from /usr/share/fonts/truetype/tlwg); poppler-utils: pdftotext/pdffonts/pdftoppm in the tests.
# chromium: the browser the web pages are tested in (Playwright drives it; it never downloads one);
# libatomic1: Playwright's bundled node needs it. zbar-tools: the tests decode the letters' QR codes.
# wrk: the queue-booking benchmark's load generator.
APT_PACKAGES=(unixodbc libsqliteodbc odbc-postgresql odbc-mariadb fonts-tlwg-laksaman-ttf poppler-utils chromium
              libatomic1 zbar-tools wrk)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup: missing Debian packages: ${missing[*]} (run: apt-get install ${missing[*]} as root)" >&2; exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' 2>/dev/null || {
  echo "setup: delayhub needs Python 3.11 ($PYTHON is $("$PYTHON" --version 2>&1))" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/uv --version 2>/dev/null | grep -q "uv $UV_VERSION"; then
  .venv/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
echo "setup: installing the locked Python packages"
.venv/bin/uv pip sync -q --python .venv/bin/python requirements.lock
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps --no-build-isolation -e .
touch .venv/.installed
