// exec/result_names.cpp: the checks of a job's result names (see result_names.hpp).
#include "exec/result_names.hpp"

#include <algorithm>
#include <cstring>

#include "exec/results_layout.hpp"
#include "pel/error.hpp"

namespace pel::exec {

namespace {

/// `name` as the results file holds it: without leading slashes (a dataset "/a" is "a").
std::string normalised(const std::string& name) {
    const std::size_t first = name.find_first_not_of('/');
    return first == std::string::npos ? std::string() : name.substr(first);
}

/// The reserved name of kind `kind` that is `name`, if any.
const ReservedName* reserved(const std::string& name, const char* kind) {
    for (const ReservedName& r : reserved_names()) {
        if (std::strcmp(r.kind, kind) == 0 && name == r.name) return &r;
    }
    return nullptr;
}

}  // namespace

void ResultNames::check_dataset(const std::string& name, const std::string& what, const std::vector<Use>& uses) const {
    const std::string head = "job '" + shown(job_) + "': its " + what + " '" + shown(name) + "'";
    if (name.empty() || name.ends_with('/') || name.find("//") != std::string::npos) {
        throw Error::Plugin(head + " is not a dataset name (names are 'a' or 'group/a')");
    }
    if (const ReservedName* r = reserved(name.substr(0, name.find('/')), "group")) {
        throw Error::Plugin(head + (name.find('/') == std::string::npos ? " is" : " is inside") + " pel's group /" +
                            r->name + " (" + r->holds + "; README, \"Reserved names\")");
    }
    for (const Use& u : uses) {
        if (u.name == name && u.what == what) throw Error::Plugin(head + " is declared twice");
        if (u.name == name) throw Error::Plugin(head + " is also its " + u.what + " '" + shown(u.name) + "'");
        if (name.starts_with(u.name + "/")) {
            throw Error::Plugin(head + " needs a group '" + shown(u.name) + "', which is its " + u.what);
        }
        if (u.name.starts_with(name + "/")) {
            throw Error::Plugin(head + " is the group of its " + u.what + " '" + shown(u.name) + "'");
        }
    }
}

void ResultNames::check_attribute(const std::string& name, const std::set<std::string>& taken,
                                  const char* taken_as) const {
    const std::string head = "job '" + shown(job_) + "': its result attribute '" + shown(name) + "'";
    if (name.empty()) throw Error::Plugin("job '" + shown(job_) + "' names a result attribute ''");
    if (const ReservedName* r = reserved(name, "attribute")) {
        throw Error::Plugin(head + " is one pel writes on the root (" + r->holds + "; README, \"Reserved names\")");
    }
    if (taken.contains(name)) throw Error::Plugin(head + " is " + taken_as);
}

void ResultNames::item_output(const std::string& name) {
    const std::string n = normalised(name);
    check_dataset(n, "item output", datasets_);
    datasets_.push_back({n, "item output"});
}

void ResultNames::declare_dataset(const std::string& name) {
    const std::string n = normalised(name);
    check_dataset(n, "result dataset", datasets_);
    datasets_.push_back({n, "result dataset"});
    declared_ = true;
}

void ResultNames::declare_attribute(const std::string& name) {
    check_attribute(name, attributes_, "declared twice");
    attributes_.insert(name);
    declared_ = true;
}

void ResultNames::write_dataset(const std::string& name) {
    const std::string n = normalised(name);
    for (const Use& u : written_) {
        if (u.name == n)
            throw Error::Plugin("job '" + shown(job_) + "' stores result dataset '" + shown(n) + "' twice");
    }
    if (declared_) {
        const bool known = std::any_of(datasets_.begin(), datasets_.end(),
                                       [&](const Use& u) { return u.name == n && u.what == "result dataset"; });
        if (!known) {
            throw Error::Plugin("job '" + shown(job_) + "' stores result dataset '" + shown(n) +
                                "', which its setup did not declare (ctx.result_dataset)");
        }
    } else {
        // Not declared: checked now, against the item outputs and what write_results() stored before.
        std::vector<Use> uses = datasets_;
        uses.insert(uses.end(), written_.begin(), written_.end());
        check_dataset(n, "result dataset", uses);
    }
    written_.push_back({n, "result dataset"});
}

void ResultNames::write_attribute(const std::string& name) {
    if (declared_ && !attributes_.contains(name)) {
        throw Error::Plugin("job '" + shown(job_) + "' stores result attribute '" + shown(name) +
                            "', which its setup did not declare (ctx.result_attribute)");
    }
    check_attribute(name, written_attributes_, "stored twice");
    written_attributes_.insert(name);
}

}  // namespace pel::exec
