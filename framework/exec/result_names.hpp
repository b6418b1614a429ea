// exec/result_names.hpp: the names a job's outputs take in the results file, checked as the job declares them in
// setup (so that a clash ends the run before any item runs) and again as write_results() stores them.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pel::exec {

/// The datasets and root attributes of one job's results: its item outputs, the results it declares, and what
/// write_results() stores. Every clash throws pel::Error (plugin) naming the job and both uses of the name: an item
/// output or result dataset named like another, or inside one ("a" and "a/b"); a name pel writes itself
/// (reserved_names()); a result stored twice, or not declared by a job that declares its results. Not collective:
/// every rank makes the same calls and reaches the same verdict.
class ResultNames {
  public:
    explicit ResultNames(std::string job) : job_(std::move(job)) {}

    /// A per-item output (SetupContext::item_output).
    void item_output(const std::string& name);
    /// A dataset write_results() will store (SetupContext::result_dataset).
    void declare_dataset(const std::string& name);
    /// A root attribute write_results() will store (SetupContext::result_attribute).
    void declare_attribute(const std::string& name);
    /// write_results() stores dataset `name` (ResultSink::dataset).
    void write_dataset(const std::string& name);
    /// write_results() stores root attribute `name` (ResultSink::attribute).
    void write_attribute(const std::string& name);

  private:
    struct Use {
        std::string name;  ///< without a leading '/'
        std::string what;  ///< "item output", "result dataset"
    };
    /// Checks dataset `name`, used as `what`, against pel's groups and every dataset in `uses`.
    void check_dataset(const std::string& name, const std::string& what, const std::vector<Use>& uses) const;
    void check_attribute(const std::string& name, const std::set<std::string>& taken, const char* taken_as) const;

    std::string job_;
    std::vector<Use> datasets_;         ///< item outputs and declared results
    std::set<std::string> attributes_;  ///< declared
    std::vector<Use> written_;          ///< datasets write_results() stored
    std::set<std::string> written_attributes_;
    bool declared_ = false;  ///< the job declares its results
};

}  // namespace pel::exec
