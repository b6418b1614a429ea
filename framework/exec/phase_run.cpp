// exec/phase_run.cpp: one phase on one rank (see phase_run.hpp).
#include "exec/phase_run.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

#include "sched/selection.hpp"

namespace pel::exec {

PhaseRun::PhaseRun(JobBase& job, RunContext& ctx, const mpi::Comm& comm, const RunConfig& config, const Phase& phase,
                   int phase_index, std::vector<ItemRange> todo, double pause_at, const std::vector<std::string>& hosts,
                   const sched::CostProfile* profile, const Levels& levels)
    : config_(config),
      root_config_(config),
      chunks_(ctx.columns(), ctx.ragged()),
      team_(job, ctx, config, phase, phase_index, chunks_) {
    if (levels.two()) {
        if (comm.rank() == 0) {  // the top level: rank 0's team and the leaders
            root_config_.schedule = levels.top_schedule;
            root_ = std::make_unique<RootLink>(*levels.top, root_config_, team_, phase, phase_index, std::move(todo),
                                               pause_at, levels.top_hosts);
            if (profile != nullptr) root_->use_profile(*profile);
        } else if (levels.leader()) {  // its group's root, fed by rank 0; only rank 0 pauses for checkpoints
            root_config_.schedule = levels.group_schedule;
            root_config_.progress = nullptr;
            root_ = std::make_unique<RootLink>(*levels.group, root_config_, team_, phase, phase_index,
                                               std::vector<ItemRange>{}, std::numeric_limits<double>::infinity(),
                                               no_hosts_);
            leader_ = std::make_unique<LeaderLink>(*levels.top, config, team_);
            root_->lead(*leader_);
        } else {
            worker_ = std::make_unique<WorkerLink>(*levels.group, config, team_);
        }
        return;
    }
    if (comm.rank() == 0) {
        if (config.schedule.technique == sched::Technique::automatic)
            choose_schedule(comm.size(), phase, todo, profile);
        root_ =
            std::make_unique<RootLink>(comm, root_config_, team_, phase, phase_index, std::move(todo), pause_at, hosts);
        if (profile != nullptr) root_->use_profile(*profile);
    } else {
        worker_ = std::make_unique<WorkerLink>(comm, config, team_);
    }
}

/// --schedule auto, on rank 0: the technique for this phase (or round), simulated on the measured costs if known.
void PhaseRun::choose_schedule(int ranks, const Phase& phase, const std::vector<ItemRange>& todo,
                               const sched::CostProfile* profile) {
    const auto t0 = std::chrono::steady_clock::now();
    sched::SelectionInput in;
    in.settings = config_.schedule;
    in.items = phase.items;
    in.ranks = ranks;
    in.threads = config_.threads;
    in.todo = todo;
    if (profile != nullptr) in.profile = *profile;
    in.budget_s = sched::budget_for(in.profile, ranks, config_.threads);
    const sched::Selection chosen = sched::select_technique(in);
    root_config_.schedule.technique = chosen.technique;
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - t0;
    char timing[64];
    std::snprintf(timing, sizeof timing, ", chosen in %.1f ms", took.count());
    schedule_choice_ = chosen.why + (chosen.candidates.empty() ? std::string() : std::string(timing));
}

void PhaseRun::execute() {
    if (leader_ != nullptr) {
        leader_->begin();
        root_->begin();
        team_.run(*root_);
        root_->end();
        leader_->end(root_->scheduler());
        return;
    }
    if (root_ != nullptr) {
        root_->begin();
        team_.run(*root_);
        root_->end();
        return;
    }
    worker_->begin();
    team_.run(*worker_);
    worker_->end();
}

std::vector<sched::SkippedItem> PhaseRun::skipped() const {
    return root_ != nullptr ? root_->skipped() : std::vector<sched::SkippedItem>{};
}

RankStats PhaseRun::stats(double phase_s) const {
    RankStats s;
    s.items = team_.items();
    s.chunks = chunks_.count();
    s.busy_s = team_.busy_s();
    s.idle_s = std::max(0.0, phase_s * config_.threads - s.busy_s);
    if (root_ != nullptr) {
        s.wait_s = root_->wait_s();
        s.serve_s = root_->serve_s();
        s.requests = root_->requests();
        s.steals = root_->steals();
    } else {
        s.wait_s = worker_->wait_s();
    }
    return s;
}

}  // namespace pel::exec
