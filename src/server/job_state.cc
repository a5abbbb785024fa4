#include "server/job_state.h"

#include <array>
#include <utility>

namespace kumo::server {
namespace {

constexpr std::array<std::pair<JobPhase, std::string_view>, 6> kPhaseNames = {{
    {JobPhase::kPending, "Pending"},
    {JobPhase::kRunning, "Running"},
    {JobPhase::kTerminating, "Terminating"},
    {JobPhase::kSucceeded, "Succeeded"},
    {JobPhase::kFailed, "Failed"},
    {JobPhase::kCancelled, "Cancelled"},
}};

constexpr std::array<std::pair<TaskState, std::string_view>, 3> kTaskStateNames = {{
    {TaskState::kRunning, "running"},
    {TaskState::kExited, "exited"},
    {TaskState::kLost, "lost"},
}};

constexpr std::array<std::pair<AttemptOutcome, std::string_view>, 8> kOutcomeNames = {{
    {AttemptOutcome::kSucceeded, "Succeeded"},
    {AttemptOutcome::kCancelled, "Cancelled"},
    {AttemptOutcome::kPreempted, "Preempted"},
    {AttemptOutcome::kNodeDrained, "NodeDrained"},
    {AttemptOutcome::kLost, "Lost"},
    {AttemptOutcome::kFailed, "Failed"},
    {AttemptOutcome::kDeadlineExceeded, "DeadlineExceeded"},
    {AttemptOutcome::kLaunchFailed, "LaunchFailed"},
}};

template <typename Enum, size_t N>
std::string_view NameOf(const std::array<std::pair<Enum, std::string_view>, N>& names, Enum e) {
  for (const auto& [value, name] : names)
    if (value == e) return name;
  return "?";  // unreachable: every enumerator is in its table
}

template <typename Enum, size_t N>
std::optional<Enum> ValueOf(const std::array<std::pair<Enum, std::string_view>, N>& names,
                            std::string_view text) {
  for (const auto& [value, name] : names)
    if (name == text) return value;
  return std::nullopt;
}

}  // namespace

std::string_view ToString(JobPhase phase) { return NameOf(kPhaseNames, phase); }
std::string_view ToString(TaskState state) { return NameOf(kTaskStateNames, state); }
std::string_view ToString(AttemptOutcome outcome) { return NameOf(kOutcomeNames, outcome); }
std::optional<JobPhase> ParseJobPhase(std::string_view text) { return ValueOf(kPhaseNames, text); }
std::optional<TaskState> ParseTaskState(std::string_view text) {
  return ValueOf(kTaskStateNames, text);
}
std::optional<AttemptOutcome> ParseAttemptOutcome(std::string_view text) {
  return ValueOf(kOutcomeNames, text);
}

}  // namespace kumo::server
