#!/usr/bin/env bash
# Set everything up and run the site on SQLite with demo data at http://127.0.0.1:5000
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements.txt

export FLASK_APP=wsgi APP_CONFIG="${APP_CONFIG:-development}"
# Links in emails (tickets, password resets) point at this server, whatever PORT it runs on.
export SITE_URL="${SITE_URL:-http://127.0.0.1:${PORT:-5000}}"
# Payments: unless real credentials are set, WeChat Pay and Alipay are local stand-ins (standins/),
# so a newcomer can pay for a seat in the demo in a browser; the bank transfer account is a demo one.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
if [ -z "${WECHATPAY_MCHID:-}${ALIPAY_APPID:-}" ]; then
  eval "$(python -m standins.dev env instance/standin-keys)"
  python -m standins.dev serve instance/standin-keys &
  pids+=($!)
fi
flask db upgrade
flask seed-demo
# The worker: holds that run out, refunds, reminders, and the mail, which goes to this console
# (MAIL_BACKEND=console) and to /admin/outbox/ for admins.
flask worker run --interval 2 &
pids+=($!)
echo
echo "Site: http://127.0.0.1:${PORT:-5000}   (Ctrl+C to stop)"
flask run --host 127.0.0.1 --port "${PORT:-5000}"
