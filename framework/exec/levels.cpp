// exec/levels.cpp: choosing one or two scheduling levels, and the communicators of two (see levels.hpp).
#include "exec/levels.hpp"

#include <cstdio>

namespace pel::exec {

int auto_two_levels_from(double mean_item_s) {
    if (mean_item_s <= 0) return 1024;
    if (mean_item_s <= 10e-6) return 128;
    if (mean_item_s <= 100e-6) return 256;
    return 1024;
}

LevelsChoice choose_levels(int requested, int ranks, double mean_item_s) {
    if (ranks < 3) {
        return {1, requested == 2 ? "asked for 2, but fewer than 3 ranks make no group" : "fewer than 3 ranks"};
    }
    if (requested == 1) return {1, "asked for"};
    if (requested == 2) return {2, "asked for"};
    const int from = auto_two_levels_from(mean_item_s);
    char why[160];
    if (mean_item_s <= 0) {
        std::snprintf(why, sizeof why, "auto: %d ranks, item cost not measured (2 from %d ranks)", ranks, from);
    } else {
        std::snprintf(why, sizeof why, "auto: %d ranks, mean item %.3g us measured (2 from %d ranks)", ranks,
                      mean_item_s * 1e6, from);
    }
    return {ranks >= from ? 2 : 1, why};
}

std::string levels_text(const LevelsChoice& choice) {
    return std::to_string(choice.levels) + " (" + choice.reason + ")";
}

Levels make_levels(const mpi::Comm& world, const LevelsChoice& choice, int group_size, sched::Params schedule,
                   const std::vector<std::string>& hosts) {
    Levels levels;
    levels.choice = choice;
    if (choice.levels != 2) return levels;
    const int me = world.rank();
    // Rank 0 is the top level's own team, in no group: a group is the other ranks of a node, or of a block of G.
    const int color = group_size > 0 ? me / group_size : world.node_first_rank();
    levels.group = world.split(me == 0 ? -1 : color, me);
    const bool leads = me == 0 || levels.group->rank() == 0;
    levels.top = world.split(leads ? 0 : -1, me);

    levels.group_schedule = schedule;
    levels.group_schedule.weights.clear();  // given for the world's ranks; measured per group instead
    if (levels.top != nullptr) {
        // Weighted factoring at the top: each leader's chunks scaled by its group's size (rank 0 counts one).
        const std::vector<double> sizes =
            levels.top->allgather(me == 0 ? 1.0 : static_cast<double>(levels.group->size()));
        levels.top_schedule = schedule;
        levels.top_schedule.technique = sched::Technique::wf;
        levels.top_schedule.weights = sizes;
        const std::vector<double> world_ranks = levels.top->allgather(static_cast<double>(me));
        if (me == 0) {
            for (const double r : world_ranks) {
                const auto w = static_cast<std::size_t>(r);
                levels.top_hosts.push_back(w < hosts.size() ? hosts[w] : std::string("?"));
            }
        }
    }
    return levels;
}

}  // namespace pel::exec
