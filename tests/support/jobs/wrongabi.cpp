// tests/support/jobs/wrongabi.cpp: a plugin that claims a different ABI version; pel must refuse it.
#include <pel/plugin.hpp>

extern "C" __attribute__((visibility("default"))) const PelAbiFingerprint pel_abi_fingerprint{
    999, sizeof(PelAbiFingerprint), PEL_VERSION_STRING, PEL_ABI_COMPILER, PEL_ABI_LIBRARY, PEL_ABI_DEBUG_MODE};

extern "C" __attribute__((visibility("default"))) const PelJobInfo* pel_job_query() {
    static const PelJobInfo info{999, sizeof(PelJobInfo), "wrongabi", "0", "built for another pel", nullptr, nullptr};
    return &info;
}
