#!/usr/bin/env bash
# Runs the test stages, timing each, and ends with a summary table. A failed
# stage does not stop the others, so one run shows every failure; the exit code
# is non-zero when any stage failed.
#   scripts/run_tests.sh all     unit, sanity, lint, build, galaxy (the built
#                                tarball installed alone builds an image, a vlan,
#                                an instance and a vip), neutron (the modules
#                                against a real Neutron API), every Molecule
#                                scenario but those in molecule/pending.txt
#                                (those in molecule/exclusive.txt run last,
#                                one at a time, with nothing beside them)
#   scripts/run_tests.sh quick   unit, sanity, lint
#   scripts/run_tests.sh pending the scenarios of molecule/pending.txt
#   scripts/run_tests.sh STAGE…  just those (molecule:NAME for one scenario)
# Molecule scenarios run MOLECULE_JOBS at a time (default 2: they mostly wait on
# containers booting and packages installing, and each keeps to its own names
# and addresses), each bounded by MOLECULE_TIMEOUT seconds (default 1800) so a
# hung scenario cannot take the whole run with it. Their output is printed
# scenario by scenario once they are done.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
scenarios() { for d in molecule/*/molecule.yml; do basename "$(dirname "$d")"; done; }
# molecule/pending.txt: scenarios not yet proven in one full run (see that file).
pending() { sed -e 's/#.*//' molecule/pending.txt 2>/dev/null | awk 'NF {print $1}'; }
# molecule/exclusive.txt: scenarios that run after the parallel batch, one at a
# time with nothing beside them (the faults scenario restarts the engine).
exclusive() { sed -e 's/#.*//' molecule/exclusive.txt 2>/dev/null | awk 'NF {print $1}'; }

case "${1:-all}" in
  all) mapfile -t molecule_stages < <(scenarios | grep -vxF -f <(pending; echo '#') | sed 's/^/molecule:/')
       stages=(unit sanity lint build galaxy neutron "${molecule_stages[@]}")
       [ -z "$(pending)" ] || echo "not in this run (molecule/pending.txt): $(pending | xargs)" ;;
  pending) mapfile -t stages < <(pending | sed 's/^/molecule:/') ;;
  quick) stages=(unit sanity lint) ;;
  *) stages=("$@") ;;
esac

run_stage() {
  case $1 in
    unit) PYTHONPATH=$PWD/.collections python -m pytest -q tests/unit ;;
    sanity) scripts/check_sanity.sh ;;
    lint) ansible-lint --profile production --offline ;;
    build) scripts/check_build_install.sh ;;
    galaxy) tests/integration/targets/galaxy_install/runme.sh ;;
    neutron) tests/integration/targets/openstack_neutron/runme.sh ;;
    *) echo "unknown stage $1" >&2; return 2 ;;
  esac
}

# One scenario, output to build/test-logs/NAME.log, "STATUS SECONDS" to NAME.result.
# shellcheck disable=SC2317  # called through xargs (exported), not unreachable
molecule_one() {
  local name=$1 start=$SECONDS status
  if timeout -k 60 "${MOLECULE_TIMEOUT:-1800}" molecule test -s "$name" >"build/test-logs/$name.log" 2>&1; then
    status=ok
  elif [ $? = 124 ]; then status=TIMEOUT; else status=FAILED; fi
  echo "$status $((SECONDS - start))" >"build/test-logs/$name.result"
}
export -f molecule_one

results=() failed=0 start_all=$SECONDS scenario_list=()
record() { # stage status seconds
  results+=("$(printf '%-28s %-7s %5ss' "$1" "$2" "$3")")
  [ "$2" = ok ] || failed=$((failed + 1))
}
for stage in "${stages[@]}"; do
  case $stage in molecule:*) scenario_list+=("${stage#molecule:}"); continue ;; esac
  echo "=== $stage"
  start=$SECONDS
  if run_stage "$stage"; then status=ok; else status=FAILED; fi
  record "$stage" "$status" $((SECONDS - start))
done

if [ ${#scenario_list[@]} -gt 0 ]; then
  mkdir -p build/test-logs
  rm -f build/test-logs/*.log build/test-logs/*.result
  mapfile -t alone < <(printf '%s\n' "${scenario_list[@]}" | grep -xF -f <(exclusive; echo '#'))
  mapfile -t batch < <(printf '%s\n' "${scenario_list[@]}" | grep -vxF -f <(exclusive; echo '#'))
  if [ ${#batch[@]} -gt 0 ]; then
    echo "=== molecule: ${batch[*]} (${MOLECULE_JOBS:-2} at a time)"
    # shellcheck disable=SC2016  # $1 is the inner shell's argument
    printf '%s\n' "${batch[@]}" | xargs -P "${MOLECULE_JOBS:-2}" -I{} bash -c 'molecule_one "$1"' _ {}
  fi
  # After the batch, one at a time (molecule/exclusive.txt).
  for name in "${alone[@]}"; do
    echo "=== molecule: $name (alone)"
    molecule_one "$name"
  done
  for name in "${scenario_list[@]}"; do
    echo "=== molecule:$name"
    cat "build/test-logs/$name.log" 2>/dev/null
    read -r status seconds < <(cat "build/test-logs/$name.result" 2>/dev/null || echo "FAILED 0")
    record "molecule:$name" "$status" "$seconds"
  done
fi

echo
echo "=== summary"
printf '%s\n' "${results[@]}"
printf '%-28s %-7s %5ss\n' total "$([ $failed = 0 ] && echo ok || echo FAILED)" $((SECONDS - start_all))
echo "stages: $(( ${#results[@]} - failed )) passed, $failed failed"
exit $((failed > 0))
