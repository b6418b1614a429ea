# tests/app/bad_input.sh: every kind of bad input ends every rank with a clear one-line error and a non-zero exit.
source "$(dirname "$0")/common.sh"
P="--job-path $PEL_TEST_PLUGIN_DIR"

# Exit codes: 1 failure in a run, 2 usage, 3 plugin, 4 file.
expect_error 2 "unknown command 'frobnicate'" 2 frobnicate
expect_error 2 "no job given" 2 run
expect_error 3 "unknown job 'nosuch'" 2 run nosuch
expect_contains "$TMP/err" "mandelbrot"
expect_error 2 "--bogus" 3 run mandelbrot --bogus 1
expect_error 2 "below the minimum" 2 run mandelbrot --width 0
expect_error 2 "--width" 2 run mandelbrot --width abc
expect_error 2 "is not one of" 2 run synthetic --distribution weird
expect_error 2 "unknown technique 'nope'" 2 run mandelbrot --schedule nope
expect_error 2 "--weights: 3 weights given for 2 ranks" 2 run mandelbrot --schedule wf --weights 1,2,3 --output "$TMP/x.h5"
expect_error 2 "--weights: only --schedule wf takes weights" 2 run mandelbrot --schedule af --weights 1,2
expect_error 2 "--weights: 'x' in '1,x' is not a positive number" 2 run mandelbrot --schedule wf --weights 1,x
expect_error 2 "--weights: '0' in '0,1' is not a positive number" 2 run mandelbrot --schedule wf --weights 0,1
expect_error 2 "--threads" 2 run mandelbrot --threads 0
expect_error 2 "--chunk-size" 2 run mandelbrot --chunk-size -3
OMP_NUM_THREADS=lots expect_error 2 "OMP_NUM_THREADS='lots'" 2 run mandelbrot --output "$TMP/x.h5"
expect_error 2 "mandelbrot: need x-min < x-max" 2 run mandelbrot --x-min 1 --x-max 0 --output "$TMP/x.h5"

# Config files.
expect_error 2 "nothere.toml" 2 run mandelbrot --config "$TMP/nothere.toml"
printf 'job = "mandelbrot"\nwidth = 10\nflavour = "strawberry"\n' > "$TMP/extra.toml"
expect_error 2 "unknown option 'flavour' in the config file" 2 run --config "$TMP/extra.toml"
printf 'job = "kmeans"\n' > "$TMP/kmeans.toml"
expect_error 2 "config file is for job 'kmeans'" 2 run mandelbrot --config "$TMP/kmeans.toml"
printf 'width = 0\n' > "$TMP/zero.toml"
expect_error 2 "below the minimum" 2 run mandelbrot --config "$TMP/zero.toml"

# Files.
expect_error 4 "input file '$TMP/none.h5' does not exist" 2 run kmeans --input "$TMP/none.h5"
expect_ok 1 run synthetic --items 10 --mean-us 0 --output "$TMP/notpoints.h5"
expect_error 4 "dataset '/points' not found" 3 run kmeans --input "$TMP/notpoints.h5"
echo "not hdf5" > "$TMP/text.h5"
expect_error 4 "is not an HDF5 file" 2 run kmeans --input "$TMP/text.h5"
expect_error 4 "directory '$TMP/no/dir' does not exist" 2 run mandelbrot --output "$TMP/no/dir/out.h5"
expect_error 4 "is a directory" 2 run mandelbrot --output "$TMP"

# Plugins.
expect_error 3 "cannot load job plugin" 2 run garbage $P
expect_error 3 "ABI version 999" 2 run wrongabi $P
expect_error 3 "is not a pel job plugin" 2 run noquery $P
expect_error 3 "undefined symbol" 2 run unresolved $P

# A kernel that throws: the run stops on every rank, the item range is named, no results file is left.
expect_error 1 "item 37 is poisoned" 3 run faulty $P --items 200 --fail-at 37 --chunk-size 5 --output "$TMP/faulty.h5"
expect_contains "$TMP/err" "failed on items ["
[ ! -e "$TMP/faulty.h5" ] && [ ! -e "$TMP/faulty.h5.part" ] && pass || fail "a failed run left a results file"
expect_error 1 "item 0 is poisoned" 4 run faulty $P --items 50 --fail-at 0 --threads 2 --output "$TMP/faulty.h5"
for at in 1 9 23; do  # threads of a failing rank stop while others wait on rank 0: no race may crash or hang
  expect_error 1 "item $at is poisoned" 4 run faulty $P --items 60 --fail-at $at --threads 2 --prefetch 2 --output "$TMP/faulty.h5"
done
expect_ok 2 run faulty $P --items 50 --output "$TMP/fine.h5"

finish
