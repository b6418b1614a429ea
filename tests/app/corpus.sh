# tests/app/corpus.sh: the bad-input corpus (tests/corpus: cases.txt, generate.py's cases, run by run.py), at least
# 300 cases, each asserting the exit code, one error line, the time to exit and that no file was replaced or left.
# Usage: corpus.sh FAULT_PLUGIN_DIR [run.py arguments, e.g. --only 'plots/*']
source "$(dirname "$0")/common.sh"
export PEL_FAULT_PLUGIN_DIR=${1:?the directory of the fault test plugins}
shift
if ! /usr/bin/python3 -c "import h5py, numpy" 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 lacks h5py or numpy (apt-get install python3-h5py), which the corpus's cases use"
  exit 77
fi
/usr/bin/python3 "$REPO/tests/corpus/run.py" --pel "$PEL" --mpirun "$MPIRUN" -j 2 "$@"
