# Sourced by the generators (tools/golden/make_golden.sh, tools/shapes-model/train.sh):
# golden_venv_python REQUIREMENTS prints the python of the shared golden venv, creating the
# venv from REQUIREMENTS when it is missing and checking its pinned versions either way.
# The venv lives outside the repo: $LOUPE_GOLDEN_VENV, default ~/.cache/loupe/golden-venv.
golden_venv_python() {
  local requirements="$1"
  local venv="${LOUPE_GOLDEN_VENV:-$HOME/.cache/loupe/golden-venv}"
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -r "$requirements" >&2
  fi
  "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/check_versions.py" "$requirements" >&2
  echo "$venv/bin/python"
}
