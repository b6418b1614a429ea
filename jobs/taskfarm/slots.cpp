// jobs/taskfarm/slots.cpp: the slots cut from a rank's CPUs (see slots.hpp).
#include "slots.hpp"

#include <cstddef>

#include <pel/error.hpp>

namespace taskfarm {

cpu_set_t cpu_set_of(const std::vector<int>& cpus) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus) {
        if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
    }
    return set;
}

Slots::Slots(const std::vector<int>& cpus, int per_task, int rank) {
    const auto per = static_cast<std::size_t>(per_task);
    for (std::size_t first = 0; first + per <= cpus.size(); first += per) {
        sets_.push_back(cpu_set_of({cpus.begin() + static_cast<std::ptrdiff_t>(first),
                                    cpus.begin() + static_cast<std::ptrdiff_t>(first + per)}));
    }
    if (sets_.empty()) {
        throw pel::Error::Usage("taskfarm: --task-threads " + std::to_string(per_task) + " is more than the " +
                                std::to_string(cpus.size()) + " CPUs rank " + std::to_string(rank) + " may use");
    }
    busy_.assign(sets_.size(), false);
}

int Slots::take() {
    std::unique_lock lock(mutex_);
    for (;;) {
        for (std::size_t s = 0; s < busy_.size(); ++s) {
            if (!busy_[s]) {
                busy_[s] = true;
                return static_cast<int>(s);
            }
        }
        freed_.wait(lock);
    }
}

void Slots::give(int slot) {
    {
        const std::lock_guard lock(mutex_);
        busy_[static_cast<std::size_t>(slot)] = false;
    }
    freed_.notify_one();
}

}  // namespace taskfarm
