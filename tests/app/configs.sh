# tests/app/configs.sh: every config in configs/ runs as it is (from a copy of the repository root's layout).
source "$(dirname "$0")/common.sh"
cp -r "$REPO/configs" "$TMP/configs"
cd "$TMP" || exit 1
for config in configs/*.toml; do
  expect_ok 2 run --config "$config"
  expect_contains "$TMP/out" "results in"
done
finish
