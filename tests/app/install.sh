# tests/app/install.sh BUILD_DIR: pel installed as a site installs it, from the already built tree.
#   1. `cmake --install` to a temporary prefix: every part is there, and the Slurm template names the installed pel.
#   2. Lmod: in a fresh shell outside the repository, `module load pel` gives pel, pel-sbatch and find_package(pel);
#      a run, an out-of-tree job, a batch script and a run of the installed template; `module unload` undoes it.
#   3. The .deb from cpack: its fields and contents; installed with dpkg -i when that is safe (no pel package, no
#      /usr/bin/pel, none of its files present), a job run with /usr/bin/pel, then purged, leaving nothing in /usr.
#      Otherwise it is unpacked with dpkg-deb -x and run from there, and the reason said.
# Exits 77 (skipped) when Lmod cannot be installed and everything else passed.
source "$(dirname "$0")/common.sh"
build=$1
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
libdir=$(cache_value CMAKE_INSTALL_LIBDIR)
version=$(cache_value CMAKE_PROJECT_VERSION)
jobs=(kmeans mandelbrot synthetic taskfarm)
[ -n "$libdir" ] && [ -n "$version" ] || { echo "cannot read the libdir and version from $build/CMakeCache.txt"; exit 1; }
SKIPPED=""
# A reference run by the built pel: every installed pel must give the same bits.
expect_ok 2 run synthetic --items 600 --distribution pareto --mean-us 20 --seed 7 --output "$TMP/ref.h5"
same_as_ref() {
  "$H5SAME" "$TMP/ref.h5" "$1" --attr items_processed --attr checksum_sum --attr checksum_xor --ignore /stats \
    >"$TMP/same" 2>&1 && pass || fail "$2: results differ from the built pel's: $(head -c 400 "$TMP/same")"
}

# --- 1. cmake --install ---------------------------------------------------------------------------------------------
P="$TMP/prefix"
cmake --install "$build" --prefix "$P" >"$TMP/install.log" 2>&1 && pass || fail "install failed: $(tail -5 "$TMP/install.log")"
for f in bin/pel bin/pel-sbatch share/pel/pel.sbatch share/pel/pel-plots.py; do
  [ -f "$P/$f" ] && [ -x "$P/$f" ] && pass || fail "$f is not installed as a program"
done
for job in "${jobs[@]}"; do
  [ -f "$P/$libdir/pel/jobs/pel_$job.so" ] && pass || fail "job $job is not installed in $libdir/pel/jobs"
done
for f in include/pel/plugin.hpp include/pel/job.hpp include/pel/version.hpp "$libdir/cmake/pel/pelConfig.cmake" \
         "$libdir/cmake/pel/pelConfigVersion.cmake" "$libdir/cmake/pel/pelTargets.cmake" \
         "$libdir/cmake/pel/PelAddJob.cmake" share/pel/examples/synthetic.toml share/pel/examples/mandelbrot.toml \
         share/pel/examples/kmeans.toml share/pel/examples/taskfarm.toml share/pel/examples/taskfarm-tasks.txt \
         share/doc/pel/README.md share/doc/pel/design.md "share/modulefiles/pel/$version.lua"; do
  [ -f "$P/$f" ] && pass || fail "$f is not installed"
done
# Nothing of the tests is installed (their plugins, programs).
leaked=$(cd "$P" && find . -name '*test*' -o -name 'pel_faulty*' -o -name 'pel_h5same' -o -name 'pel_bench*')
[ -z "$leaked" ] && pass || fail "test or benchmark files installed: $leaked"
# The installed template differs from scripts/pel.sbatch only in its default pel and its configured fallback: both
# the installed pel.
diff "$REPO/scripts/pel.sbatch" "$P/share/pel/pel.sbatch" | grep '^>' >"$TMP/template.diff"
if [ "$(wc -l <"$TMP/template.diff")" = 2 ] && grep -q -F "> PEL=\${PEL:-$P/bin/pel}" "$TMP/template.diff" &&
  grep -q -F "> PEL_CONFIGURED=$P/bin/pel" "$TMP/template.diff"; then
  pass
else
  fail "the installed template should differ only in PEL=\${PEL:-$P/bin/pel} and PEL_CONFIGURED=$P/bin/pel: $(cat "$TMP/template.diff")"
fi

# --- 2. Lmod --------------------------------------------------------------------------------------------------------
lmod_init=/usr/share/lmod/lmod/init/bash
if [ ! -f "$lmod_init" ] && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive timeout 120 apt-get install -y -qq --no-install-recommends lmod >"$TMP/apt.log" 2>&1
fi
if [ ! -f "$lmod_init" ]; then
  SKIPPED="Lmod is not installed and could not be ($(tail -1 "$TMP/apt.log" 2>/dev/null || echo 'not root'))"
  echo "skipping the modulefile checks: $SKIPPED"
else
  mkdir -p "$TMP/work" "$TMP/home"
  cp -r "$REPO/tests/outoftree" "$TMP/work/squares"
  # A fresh login-like shell: nothing of this environment (PATH without the build, no CMAKE_PREFIX_PATH) but what
  # mpirun needs as root, Lmod initialised as /etc/profile.d/lmod.sh does, started in a folder outside the repo.
  cat >"$TMP/work/session.sh" <<EOF
set -u
source $lmod_init
cd "$TMP/work"
command -v pel >/dev/null && { echo "pel is on PATH before module load: \$(command -v pel)"; exit 1; }
module use "$P/share/modulefiles"
module load pel || exit 1
echo "PEL=\$(command -v pel)"
echo "PEL_SBATCH=\$(command -v pel-sbatch)"
echo "PEL_ROOT=\$PEL_ROOT"
echo "CMAKE_PREFIX_PATH=\$CMAKE_PREFIX_PATH"
pel jobs >jobs.txt 2>&1 || echo "pel jobs failed"
mpirun -np 2 pel run --config "\$PEL_ROOT/share/pel/examples/synthetic.toml" --items 600 --mean-us 20 --seed 7 \
  --output syn.h5 >run.log 2>&1 || echo "pel run failed: \$(tail -3 run.log)"
cmake -S squares -B squares/build >cfg.log 2>&1 && cmake --build squares/build >build.log 2>&1 ||
  echo "out-of-tree job did not build: \$(tail -5 cfg.log build.log)"
mpirun -np 2 pel run squares --job-path squares/build --n 1000 --threads 2 --output sq.h5 >sq.log 2>&1 ||
  echo "squares failed: \$(tail -3 sq.log)"
pel-sbatch "\$PEL_ROOT/share/pel/examples/synthetic.toml" --dry-run >dry.sbatch 2>dry.err || echo "pel-sbatch failed: \$(cat dry.err)"
module unload pel
echo "AFTER_PATH=\$PATH"
echo "AFTER_PEL=\$(command -v pel || true)"
echo "AFTER_PEL_ROOT=\${PEL_ROOT:-}"
echo "AFTER_CMAKE_PREFIX_PATH=\${CMAKE_PREFIX_PATH:-}"
EOF
  (cd "$TMP/work" && env -i HOME="$TMP/home" USER=root LOGNAME=root PATH=/usr/local/bin:/usr/bin:/bin TERM=dumb \
     OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMP_NUM_THREADS=1 \
     timeout 300 bash --noprofile --norc "$TMP/work/session.sh") >"$TMP/session.out" 2>&1
  session_rc=$?
  [ "$session_rc" = 0 ] && pass || fail "the module session exited $session_rc: $(head -c 800 "$TMP/session.out")"
  got() { sed -n "s/^$1=//p" "$TMP/session.out"; }
  for line in "PEL=$P/bin/pel" "PEL_SBATCH=$P/bin/pel-sbatch" "PEL_ROOT=$P"; do
    grep -q -x -F "$line" "$TMP/session.out" && pass || fail "after module load, expected $line: $(cat "$TMP/session.out")"
  done
  case ":$(got CMAKE_PREFIX_PATH):" in *":$P:"*) pass ;; *) fail "CMAKE_PREFIX_PATH lacks $P: $(got CMAKE_PREFIX_PATH)" ;; esac
  problems=$(grep -E "failed|did not build|before module load" "$TMP/session.out")
  [ -z "$problems" ] && pass || fail "in the module session: $problems"
  for job in "${jobs[@]}"; do
    grep -q -x -F "  from $P/$libdir/pel/jobs/pel_$job.so" "$TMP/work/jobs.txt" && pass ||
      fail "pel jobs does not list the installed $job: $(head -c 400 "$TMP/work/jobs.txt")"
  done
  [ -f "$TMP/work/syn.h5" ] && same_as_ref "$TMP/work/syn.h5" "the module's pel" || fail "no results file from the module's pel"
  h5dump -a /sum_of_squares "$TMP/work/sq.h5" 2>/dev/null | grep -q "332833500" && pass ||
    fail "the out-of-tree job built against the installed pel gave a wrong sum of squares"
  grep -q "pel_DIR:PATH=$P/$libdir/cmake/pel" "$TMP/work/squares/build/CMakeCache.txt" && pass ||
    fail "find_package(pel) did not find the installed package: $(grep pel_DIR "$TMP/work/squares/build/CMakeCache.txt")"
  expect_contains "$TMP/work/dry.sbatch" "PEL=\${PEL:-$P/bin/pel}"
  bash -n "$TMP/work/dry.sbatch" && pass || fail "pel-sbatch wrote a script bash cannot parse"
  case ":$(got AFTER_PATH):" in *":$P/bin:"*) fail "module unload left $P/bin on PATH" ;; *) pass ;; esac
  [ -z "$(got AFTER_PEL)" ] && [ -z "$(got AFTER_PEL_ROOT)" ] && pass ||
    fail "module unload left pel ($(got AFTER_PEL)) or PEL_ROOT ($(got AFTER_PEL_ROOT))"
  case ":$(got AFTER_CMAKE_PREFIX_PATH):" in *":$P:"*) fail "module unload left $P in CMAKE_PREFIX_PATH" ;; *) pass ;; esac
fi

# The installed pel-sbatch, by its path with no pel on PATH, and the installed template run as a batch script would
# be (outside Slurm, so on one rank): both reach the installed pel.
mkdir -p "$TMP/nopath"
(cd "$TMP/nopath" && PATH=/usr/bin:/bin "$P/bin/pel-sbatch" "$P/share/pel/examples/synthetic.toml" --dry-run \
  >"$TMP/nopath/dry.sbatch" 2>&1) && pass || fail "installed pel-sbatch failed: $(cat "$TMP/nopath/dry.sbatch")"
expect_contains "$TMP/nopath/dry.sbatch" "PEL=\${PEL:-$P/bin/pel}"
(cd "$TMP/nopath" && unset $(compgen -e | grep '^SLURM_') && PATH=/usr/bin:/bin PEL_BIND=none timeout 120 bash "$P/share/pel/pel.sbatch" run synthetic \
  --items 600 --distribution pareto --mean-us 20 --seed 7 --output "$TMP/nopath/t.h5" >"$TMP/nopath/t.log" 2>&1) &&
  same_as_ref "$TMP/nopath/t.h5" "the installed template" ||
  fail "the installed template did not run the installed pel: $(tail -5 "$TMP/nopath/t.log")"

# --- 3. The .deb ----------------------------------------------------------------------------------------------------
if ! command -v dpkg-deb >/dev/null || ! command -v dpkg-shlibdeps >/dev/null; then
  fail "dpkg-deb and dpkg-shlibdeps (dpkg-dev) are needed to build the .deb"
  finish
  exit
fi
(cd "$build" && cpack -G DEB -B "$TMP/deb") >"$TMP/cpack.log" 2>&1 && pass || fail "cpack failed: $(tail -20 "$TMP/cpack.log")"
deb=$(ls "$TMP"/deb/pel_"$version"_*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
  fail "no pel_${version}_ARCH.deb: $(ls "$TMP/deb")"
  finish
  exit
fi
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = pel ] && [ "$(field Version)" = "$version" ] && [ -n "$(field Maintainer)" ] && pass ||
  fail "deb fields: Package $(field Package), Version $(field Version), Maintainer $(field Maintainer)"
for dep in libopenmpi3 libhdf5-openmpi-103-1 openmpi-bin python3 libgomp1; do
  field Depends | tr ',' '\n' | grep -q "^ *$dep\b" && pass || fail "Depends lacks $dep: $(field Depends)"
done
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$TMP/deb.contents"
deb_libdir=$(grep -o '^/usr/lib[^ ]*/pel/jobs/$' "$TMP/deb.contents" | head -1)
for f in /usr/bin/pel /usr/bin/pel-sbatch /usr/share/pel/pel.sbatch /usr/share/pel/examples/synthetic.toml \
         /usr/include/pel/plugin.hpp "/usr/share/modulefiles/pel/$version.lua" /usr/share/doc/pel/README.md; do
  grep -q -x -F "$f" "$TMP/deb.contents" && pass || fail "$f is not in the .deb"
done
for job in "${jobs[@]}"; do
  grep -q "^/usr/lib.*/pel/jobs/pel_$job.so$" "$TMP/deb.contents" && pass || fail "job $job is not in the .deb"
done
grep -q "/cmake/pel/pelConfig.cmake$" "$TMP/deb.contents" && pass || fail "the CMake package is not in the .deb"
outside=$(grep -v -E '^/$|^/usr/$|^/usr/' "$TMP/deb.contents")
[ -z "$outside" ] && pass || fail "the .deb installs outside /usr: $outside"

# Installing it is safe only where nothing of it is there already (another pel would be overwritten or removed).
files=$(grep -v '/$' "$TMP/deb.contents")
new_dirs=$(grep '/$' "$TMP/deb.contents" | while read -r d; do [ -e "$d" ] || echo "$d"; done)
pel_status() { dpkg-query -W -f='${Status}' pel 2>/dev/null; }  # nothing, or "... not-installed", when absent
why_not=""
[ "$(id -u)" = 0 ] || why_not="not root"
case "$(pel_status)" in "" | *not-installed) ;; *) why_not="dpkg knows a pel package already: $(pel_status)" ;; esac
[ -e /usr/bin/pel ] && why_not="/usr/bin/pel exists"
for f in $files; do [ -e "$f" ] && { why_not="$f exists already"; break; }; done
[ -n "${PEL_INSTALL_TEST_NO_DPKG:-}" ] && why_not="PEL_INSTALL_TEST_NO_DPKG is set"
if [ -z "$why_not" ]; then
  # Purged even if a check below fails or the test is interrupted; only ever a package this test installed.
  purge_ours() { dpkg --purge pel >>"$TMP/dpkg.log" 2>&1; }
  trap 'purge_ours; rm -rf "$TMP"' EXIT
  trap 'exit 143' TERM INT  # a timeout or ^C still runs the EXIT trap, so the package never stays behind
  dpkg -i "$deb" >"$TMP/dpkg.log" 2>&1 && pass || fail "dpkg -i failed: $(tail -5 "$TMP/dpkg.log")"
  timeout 60 /usr/bin/pel jobs >"$TMP/deb-jobs.txt" 2>&1
  for job in "${jobs[@]}"; do
    grep -q -x -F "  from ${deb_libdir}pel_$job.so" "$TMP/deb-jobs.txt" && pass ||
      fail "/usr/bin/pel jobs does not list $job from $deb_libdir: $(head -c 300 "$TMP/deb-jobs.txt")"
  done
  (cd "$TMP" && timeout 120 "$MPIRUN" -np 2 /usr/bin/pel run synthetic --items 600 --distribution pareto --mean-us 20 \
    --seed 7 --output "$TMP/deb.h5" >"$TMP/deb-run.log" 2>&1) && same_as_ref "$TMP/deb.h5" "/usr/bin/pel" ||
    fail "/usr/bin/pel run failed: $(tail -3 "$TMP/deb-run.log")"
  /usr/bin/pel-sbatch /usr/share/pel/examples/synthetic.toml --dry-run >"$TMP/deb-dry.sbatch" 2>&1 && pass ||
    fail "/usr/bin/pel-sbatch failed: $(cat "$TMP/deb-dry.sbatch")"
  expect_contains "$TMP/deb-dry.sbatch" 'PEL=${PEL:-/usr/bin/pel}'
  purge_ours && pass || fail "dpkg --purge pel failed: $(tail -5 "$TMP/dpkg.log")"
  trap 'rm -rf "$TMP"' EXIT
  trap - TERM INT
  case "$(pel_status)" in "" | *not-installed) pass ;; *) fail "dpkg still has pel: $(pel_status)" ;; esac
  # Every file of the package is gone, and every folder it made (those that were not there before).
  left=""
  for f in $files $new_dirs; do [ -e "$f" ] && left+=" $f"; done
  [ -z "$left" ] && pass || fail "left in /usr after purging pel:$left"
  [ -n "$new_dirs" ] && pass || fail "the package made no new folder (/usr/share/pel at least), so the check is void"
else
  echo "not installing the .deb with dpkg ($why_not): unpacking it with dpkg-deb -x instead"
  dpkg-deb -x "$deb" "$TMP/debroot" && pass || fail "dpkg-deb -x failed"
  timeout 60 "$TMP/debroot/usr/bin/pel" jobs >"$TMP/deb-jobs.txt" 2>&1
  for job in "${jobs[@]}"; do
    grep -q -x -F "  from $TMP/debroot${deb_libdir}pel_$job.so" "$TMP/deb-jobs.txt" && pass ||
      fail "the unpacked pel does not list $job from its own ${deb_libdir}: $(head -c 300 "$TMP/deb-jobs.txt")"
  done
  (cd "$TMP" && timeout 120 "$MPIRUN" -np 2 "$TMP/debroot/usr/bin/pel" run synthetic --items 600 --distribution pareto \
    --mean-us 20 --seed 7 --output "$TMP/deb.h5" >"$TMP/deb-run.log" 2>&1) && same_as_ref "$TMP/deb.h5" "the .deb's pel" ||
    fail "the unpacked pel failed: $(tail -3 "$TMP/deb-run.log")"
  grep -q -F 'PEL=${PEL:-/usr/bin/pel}' "$TMP/debroot/usr/share/pel/pel.sbatch" && pass ||
    fail "the .deb's template does not run /usr/bin/pel"
fi

if [ -n "$SKIPPED" ] && [ "$FAILURES" = 0 ]; then
  echo "$CHECKS passed; skipped: $SKIPPED"
  exit 77
fi
finish
