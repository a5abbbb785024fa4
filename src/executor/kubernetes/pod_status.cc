#include "executor/kubernetes/pod_status.h"

#include <set>
#include <string>

namespace kumo::executor::kube {
using nlohmann::json;

namespace {

const std::set<std::string> kCannotStart = {"ErrImagePull", "ImagePullBackOff",
                                            "InvalidImageName", "ErrImageNeverPull",
                                            "CreateContainerConfigError"};
const std::set<std::string> kEndedByNode = {"Evicted", "NodeLost", "Shutdown", "NodeShutdown",
                                            "Terminated", "NodeAffinity"};

// The first container status (kumo's pods have one container).
json ContainerStatus(const json& pod) {
  const json& status = pod.value("status", json::object());
  auto it = status.find("containerStatuses");
  if (it == status.end() || !it->is_array() || it->empty()) return json::object();
  return (*it)[0];
}

TaskStatus Exited(int code, std::string reason) {
  TaskStatus s;
  s.state = TaskState::kExited;
  s.exit_code = code;
  s.term_signal = code > 128 && code < 128 + 65 ? code - 128 : 0;
  s.reason = std::move(reason);
  return s;
}

TaskStatus Lost(std::string reason) {
  TaskStatus s;
  s.state = TaskState::kLost;
  s.reason = std::move(reason);
  return s;
}

}  // namespace

TaskStatus StatusOfPod(const json& pod, bool deleted, bool node_lost) {
  const json& status = pod.value("status", json::object());
  std::string phase = status.value("phase", "");
  json cs = ContainerStatus(pod);
  if (phase == "Succeeded") return Exited(0, "");
  if (phase == "Failed") {
    std::string why = status.value("reason", "");
    if (kEndedByNode.count(why)) return Lost(why);
    json terminated = cs.value("state", json::object()).value("terminated", json::object());
    if (terminated.empty())
      terminated = cs.value("lastState", json::object()).value("terminated", json::object());
    std::string reason = terminated.value("reason", "");
    if (reason == "OOMKilled") return Exited(137, reason);
    if (terminated.contains("exitCode"))
      return Exited(terminated.value("exitCode", 1), reason == "Error" ? "" : reason);
    return Lost(why.empty() ? "Failed without an exit code" : why);
  }
  if (deleted) return Lost("pod deleted");
  if (node_lost) return Lost("NodeNotReady");
  std::string waiting =
      cs.value("state", json::object()).value("waiting", json::object()).value("reason", "");
  if (kCannotStart.count(waiting)) return Exited(127, waiting);
  return TaskStatus{};
}

}  // namespace kumo::executor::kube
