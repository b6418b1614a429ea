# tests/corpus/rank_exit.sh PEL ARGS...: one rank of a multi-rank case under mpirun. Runs pel and notes this
# rank's exit code in $PEL_CORPUS_RC_DIR/rank-R, so that the runner can see that no rank of a failed run exits 0
# (mpirun itself reports only the first non-zero code).
"$@"
rc=$?
echo "$rc" >"$PEL_CORPUS_RC_DIR/rank-${OMPI_COMM_WORLD_RANK:-unknown}"
exit "$rc"
