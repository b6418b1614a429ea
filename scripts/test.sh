#!/usr/bin/env bash
# scripts/test.sh [ctest arguments]: install what is missing, build, and run the whole test suite.
pel_test_packages=(parallel)
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$PEL_BUILD"
ctest --output-on-failure -j 2 "$@"
