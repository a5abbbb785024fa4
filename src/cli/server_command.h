#pragma once

#include <string>
#include <vector>

namespace kumo::cli {

// `kumo server --data-dir DIR [--listen 127.0.0.1:PORT] [--config FILE] [--inventory FILE]`:
// runs the control plane until SIGINT/SIGTERM. Prints "listening on HOST:PORT" once serving,
// and writes the port to DIR/server.port (for scripts that start it with port 0).
int RunServer(const std::vector<std::string>& args, const char* argv0);

}  // namespace kumo::cli
