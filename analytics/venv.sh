# Sourced by analytics/run and analytics/report: installs analytics/requirements.txt
# (PyPI, every package pinned) into .tools/analytics-venv the first time, and
# again only when that file changes; sets $venv.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv="$here/../.tools/analytics-venv"
if ! cmp -s "$here/requirements.txt" "$venv/installed-requirements.txt"; then
  printf '\033[1m==> installing %s into .tools/analytics-venv (pip)\033[0m\n' "$(grep -v '^#' "$here/requirements.txt" | xargs)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/installed-requirements.txt"
fi
