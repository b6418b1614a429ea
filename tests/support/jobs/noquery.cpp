// tests/support/jobs/noquery.cpp: a shared library that is not a pel plugin.
extern "C" __attribute__((visibility("default"))) int not_a_plugin() { return 1; }
