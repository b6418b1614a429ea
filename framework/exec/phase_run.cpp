// exec/phase_run.cpp: one phase on one rank (see phase_run.hpp).
#include "exec/phase_run.hpp"

#include <algorithm>

namespace pel::exec {

PhaseRun::PhaseRun(JobBase& job, RunContext& ctx, const mpi::Comm& comm, const RunConfig& config, const Phase& phase,
                   int phase_index, std::vector<ItemRange> todo, double pause_at, const std::vector<std::string>& hosts,
                   const sched::CostProfile* profile)
    : config_(config), chunks_(ctx.columns(), ctx.ragged()), team_(job, ctx, config, phase, phase_index, chunks_) {
    if (comm.rank() == 0) {
        root_ = std::make_unique<RootLink>(comm, config, team_, phase, phase_index, std::move(todo), pause_at, hosts);
        if (profile != nullptr) root_->use_profile(*profile);
    } else {
        worker_ = std::make_unique<WorkerLink>(comm, config, team_);
    }
}

void PhaseRun::execute() {
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
