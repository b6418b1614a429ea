# scripts/setup.sh: sourced by run.sh and test.sh. Installs what is missing (Debian 12, as root or with sudo),
# then configures and builds pel in build/ (incrementally: a second run installs nothing and rebuilds nothing).
set -euo pipefail
PEL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEL_BUILD=${PEL_BUILD:-$PEL_ROOT/build}

pel_packages=(g++ cmake make openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools catch2 libcli11-dev nlohmann-json3-dev
              libtomlplusplus-dev nettle-dev
              python3-h5py python3-numpy python3-matplotlib dpkg-dev)
# What only the tests need, added by test.sh: GNU parallel, run by the taskfarm tests on pel's joblog.
pel_packages+=(${pel_test_packages[@]+"${pel_test_packages[@]}"})

pel_install_missing() {
  local missing=()
  for p in "${pel_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "pel: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pel_build() {
  if [ ! -f "$PEL_BUILD/CMakeCache.txt" ]; then
    cmake -S "$PEL_ROOT" -B "$PEL_BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$PEL_BUILD" -j "$(nproc)" >"$PEL_BUILD/build.log" 2>&1 || { cat "$PEL_BUILD/build.log" >&2; echo "pel: build failed" >&2; exit 1; }
  grep -i "warning" "$PEL_BUILD/build.log" >&2 || true
}

# mpirun refuses root unless told; pel's scripts and tests run as root in CI and containers.
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

pel_install_missing
pel_build
