# Sourced by scripts/dev.sh and scripts/test.sh: make .venv and install the pinned requirements.
# Usage: source scripts/bootstrap.sh REQUIREMENTS_FILE
# Works on a fresh Debian machine that has only Python 3.11: if the venv module is missing
# (Debian ships it separately), it installs python3-venv when run as root.
set -euo pipefail

requirements_file="$1"
python_bin="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  if ! "$python_bin" -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
      echo "bootstrap: installing python3-venv with apt-get"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$python_bin" -m venv .venv
    else
      echo "bootstrap: '$python_bin -m venv' failed; install python3-venv (sudo apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
fi

# Chinese PDFs (sign-in sheets, certificates) embed a CJK TrueType font; Debian's WenQuanYi Zen
# Hei is the default. Without it the app falls back to a built-in font and logs a warning.
# Hanazono Mincho draws the rare characters of names it lacks (𠮷: CJK Extension B), DejaVu Sans
# combining marks; without them such a certificate is refused (app/common/fonts.py).
missing_fonts=""
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing_fonts="$missing_fonts fonts-wqy-zenhei"
[ -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ] || missing_fonts="$missing_fonts fonts-hanazono"
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing_fonts="$missing_fonts fonts-dejavu-core"
if [ -n "$missing_fonts" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "bootstrap: installing$missing_fonts with apt-get"
  # shellcheck disable=SC2086  # one package name per word
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing_fonts >/dev/null) \
    || echo "bootstrap: could not install$missing_fonts; PDFs will use the fonts there are" >&2
fi

# Reinstall only when a requirements file changed.
stamp=".venv/.installed-$(basename "$requirements_file")-$(cat requirements*.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing $requirements_file into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements_file"
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
