#!/usr/bin/env bash
# Runs the test stages in order, timing each, and ends with a summary table.
# A failed stage does not stop the others, so one run shows every failure; the
# exit code is non-zero when any stage failed.
#   scripts/run_tests.sh all     unit, sanity, lint, build, every Molecule scenario
#   scripts/run_tests.sh quick   unit, sanity, lint
#   scripts/run_tests.sh STAGE…  just those (molecule:NAME for one scenario)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
scenarios() { for d in molecule/*/molecule.yml; do basename "$(dirname "$d")"; done; }

case "${1:-all}" in
  all) mapfile -t molecule_stages < <(scenarios | sed 's/^/molecule:/')
       stages=(unit sanity lint build "${molecule_stages[@]}") ;;
  quick) stages=(unit sanity lint) ;;
  *) stages=("$@") ;;
esac

run_stage() {
  case $1 in
    unit) PYTHONPATH=$PWD/.collections python -m pytest -q tests/unit ;;
    sanity) scripts/check_sanity.sh ;;
    lint) ansible-lint --profile production --offline ;;
    build) scripts/check_build_install.sh ;;
    molecule:*) molecule test -s "${1#molecule:}" ;;
    *) echo "unknown stage $1" >&2; return 2 ;;
  esac
}

results=() failed=0 start_all=$SECONDS
for stage in "${stages[@]}"; do
  echo "=== $stage"
  start=$SECONDS
  if run_stage "$stage"; then status=ok; else status=FAILED; failed=$((failed + 1)); fi
  results+=("$(printf '%-28s %-7s %5ss' "$stage" "$status" $((SECONDS - start)))")
done
echo
echo "=== summary"
printf '%s\n' "${results[@]}"
printf '%-28s %-7s %5ss\n' total "$([ $failed = 0 ] && echo ok || echo FAILED)" $((SECONDS - start_all))
echo "stages: $(( ${#stages[@]} - failed )) passed, $failed failed"
exit $((failed > 0))
