# Sourced by bin/ scripts with the requirements file to install: make .venv exist with it
# installed, and enter it. Reinstalls only when that file (or one it includes) changed since
# its last install, so bin/demo installs the runtime packages only and bin/test adds the rest.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
requirements=${1:?usage: . bin/_venv.sh requirements.txt}
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv"
    python3 -m venv .venv || {
        echo "Cannot create .venv: install Python's venv module (apt-get install python3-venv)." >&2
        exit 1
    }
fi
stamp=".venv/.${requirements%.txt}.sha256"
wanted=$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "Installing $requirements into .venv (a minute or two the first time)"
    .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off \
        -r "$requirements" || { echo "pip could not install $requirements" >&2; exit 1; }
    echo "$wanted" > "$stamp"
fi
# shellcheck disable=SC1091
. .venv/bin/activate
