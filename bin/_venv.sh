# Sourced by bin/ scripts: make .venv exist with the dev requirements installed, and enter it.
# Reinstalls only when a requirements file changed since the last install.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
wanted=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$wanted" > "$stamp"
fi
# shellcheck disable=SC1091
. .venv/bin/activate
