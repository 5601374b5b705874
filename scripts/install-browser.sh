#!/usr/bin/env bash
# Install the browser the end-to-end tests (tests/e2e/) drive: Debian's chromium, plus
# fonts-wqy-zenhei so the Chinese UI has glyphs in the screenshots. Playwright's own browser
# download (`playwright install`) is not used: Debian's package gets security updates with the OS.
# Does nothing when both are already there. Needs root and apt-get to install; scripts/test.sh
# calls it when run that way and /usr/bin/chromium is missing.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; then
  echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  echo "install-browser: chromium is missing; install it as root: apt-get install chromium fonts-wqy-zenhei" >&2
  exit 1
fi

echo "install-browser: installing chromium and fonts-wqy-zenhei with apt-get"
export DEBIAN_FRONTEND=noninteractive
# Another apt run (a parallel job on the same machine) holds the lock for a while: wait for it.
apt_options=(-o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)
apt-get update -qq -o DPkg::Lock::Timeout=300
apt-get install "${apt_options[@]}" chromium fonts-wqy-zenhei >/dev/null
echo "install-browser: $(/usr/bin/chromium --version)"
