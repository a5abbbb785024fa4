// The kumo CLI's client commands (kubectl/nomad habits) against a running `kumo server`:
//   submit get describe logs cancel queue top project node user whoami
// Exit codes scripts can rely on: 0 ok, 1 the server said no / not found / unreachable,
// 2 bad usage (unknown flag, missing argument).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kumo::cli {

bool IsClientCommand(std::string_view cmd);
int RunClientCommand(const std::string& cmd, const std::vector<std::string>& args);

}  // namespace kumo::cli
