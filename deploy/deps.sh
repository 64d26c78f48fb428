#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and demo the pipeline, if missing
# (chromium and fonts-noto-cjk: the sink page's test renders Chinese in headless Chromium).
# Idempotent: prints what it checks and installs only what is absent. Needs root for apt-get.
set -euo pipefail

PKGS=(build-essential pkg-config librdkafka-dev libavro-dev libcurl4-openssl-dev zlib1g-dev
      libjansson-dev libmicrohttpd-dev libcmocka-dev liblmdb-dev kcat clang clang-format
      libclang-rt-14-dev valgrind python3-venv maven default-jre-headless curl openssl systemd
      chromium fonts-noto-cjk libminizip-dev libexpat1-dev python3-openpyxl python3-xlsxwriter
      libxlsxwriter-dev)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
# Java 17 may come from a non-Debian JDK: only insist on the package when java is absent.
# (keytool, which tests/integration/test_sasl_ssl.sh needs, comes with every JRE.)
if command -v java >/dev/null 2>&1; then
    missing=("${missing[@]/default-jre-headless/}")
fi
if command -v mvn >/dev/null 2>&1; then
    missing=("${missing[@]/maven/}")
fi
read -r -a missing <<<"${missing[*]:-}"

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#PKGS[@]} packages present"
    exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
