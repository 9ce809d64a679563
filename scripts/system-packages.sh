#!/usr/bin/env bash
# Install the system packages the test suite needs, when they are missing (Debian/Ubuntu):
# - Java 17 for the Spark tests (tests/test_spark.py, the scale-out proof);
# - Debian's chromium for the browser tests (tests/test_browser.py; Playwright drives it and
#   never downloads a browser of its own).
set -euo pipefail
packages=()
if [ -z "${JAVA_HOME:-}" ] && ! command -v java >/dev/null 2>&1; then
    packages+=(openjdk-17-jre-headless)
fi
if ! command -v chromium >/dev/null 2>&1; then
    packages+=(chromium)
fi
if [ "${#packages[@]}" -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need: ${packages[*]}. Install them (or set JAVA_HOME for Java)." >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "Installing ${packages[*]} for the test suite..."
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${packages[@]}"
