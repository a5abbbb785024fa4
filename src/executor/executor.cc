#include "executor/executor.h"

#include <signal.h>

namespace kumo::executor {

Result<std::vector<TaskHandle>> Executor::LaunchGang(const std::vector<TaskLaunch>& launches) {
  std::vector<TaskHandle> handles;
  for (size_t rank = 0; rank < launches.size(); ++rank) {
    auto h = Launch(launches[rank]);
    if (!h) {
      for (const TaskHandle& started : handles) Signal(started, SIGKILL);
      return Error(Status(h.error().code(), "task " + std::to_string(rank) + ": " +
                                                 h.error().message()));
    }
    handles.push_back(*h);
  }
  return handles;
}

}  // namespace kumo::executor
