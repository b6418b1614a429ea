// pel/host.hpp: the name of the host this process runs on.
#pragma once

#include <string>
#include <unistd.h>

namespace pel {

/// This host's name as gethostname(2) gives it (the node name in messages, logs and results); "?" when it cannot be
/// read. Header-only, so that job plugins, which link nothing from pel, can name their host the same way.
inline std::string host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "?";
    return name;
}

}  // namespace pel
