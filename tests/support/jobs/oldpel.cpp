// tests/support/jobs/oldpel.cpp: a plugin whose fingerprint names another pel version; pel must refuse it before
// calling pel_job_query (which would crash here).
#include <pel/plugin.hpp>

extern "C" __attribute__((visibility("default"))) const PelAbiFingerprint pel_abi_fingerprint{
    PEL_ABI_VERSION, sizeof(PelAbiFingerprint), "0.0.1", PEL_ABI_COMPILER, PEL_ABI_LIBRARY, PEL_ABI_DEBUG_MODE};

extern "C" __attribute__((visibility("default"))) const PelJobInfo* pel_job_query() {
    __builtin_trap();  // never called: the fingerprint is checked first
}
