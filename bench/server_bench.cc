// Load generator for bench/server.sh: drives a running `kumo server` over its HTTP API.
//
//   server_bench --port P --token T --mode submit --clients C --jobs N
//     C threads, each with its own keep-alive connection, submit N jobs in total as fast as
//     the server answers (every answer waited for: a 201 means committed). Prints JSON with
//     submissions_per_second and client-side latency percentiles.
//   server_bench --port P --token T --mode start --jobs N --rate R
//     submits N one-GPU jobs at R per second (paced), waits until every job has started, and
//     prints the p50/p99 of startTime - submitTime as the server recorded them.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/http.h"

namespace {

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string Spec(const std::string& name, const std::string& command, int gpus) {
  return "apiVersion: kumo/v1\nkind: Job\nmetadata: {name: " + name +
         "}\nspec:\n  project: default\n  taskGroups:\n    - name: main\n      command: [" +
         command + "]\n      resources: {cpu: 100m, memory: 64Mi, gpu: " + std::to_string(gpus) +
         "}\n";
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, clients = 16, jobs = 2000;
  double rate = 50;
  std::string token, mode = "submit";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      port = std::stoi(v);
    else if (k == "--token")
      token = v;
    else if (k == "--mode")
      mode = v;
    else if (k == "--clients")
      clients = std::stoi(v);
    else if (k == "--jobs")
      jobs = std::stoi(v);
    else if (k == "--rate")
      rate = std::stod(v);
    else {
      std::fprintf(stderr, "server_bench: unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + token},
                                                              {"X-Kumo-Submit-Dir", "/tmp"}};
  if (mode == "submit") {
    std::atomic<int> next{0}, failed{0};
    std::vector<std::vector<double>> lat(static_cast<size_t>(clients));
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        kumo::http::Client client("127.0.0.1", static_cast<uint16_t>(port));
        for (int i; (i = next++) < jobs;) {
          auto t0 = Clock::now();
          auto r = client.Call("POST", "/v1/jobs", Spec("b" + std::to_string(i), "\"true\"", 0),
                               headers);
          if (!r || r->status != 201) {
            ++failed;
            continue;
          }
          lat[static_cast<size_t>(c)].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
      });
    }
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<double> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    nlohmann::json out = {{"mode", "submit"},
                          {"clients", clients},
                          {"submitted", all.size()},
                          {"failed", failed.load()},
                          {"seconds", secs},
                          {"submissions_per_second", static_cast<double>(all.size()) / secs},
                          {"submit_latency_p50_ms", Percentile(all, 0.5)},
                          {"submit_latency_p99_ms", Percentile(all, 0.99)}};
    std::printf("%s\n", out.dump().c_str());
    return failed ? 1 : 0;
  }
  if (mode == "start") {
    kumo::http::Client client("127.0.0.1", static_cast<uint16_t>(port));
    std::vector<int64_t> ids;
    auto start = Clock::now();
    for (int i = 0; i < jobs; ++i) {
      std::this_thread::sleep_until(start + std::chrono::duration<double>(i / rate));
      auto r = client.Call("POST", "/v1/jobs", Spec("s" + std::to_string(i), "\"sleep\", \"2\"", 1),
                           headers);
      if (!r || r->status != 201) {
        std::fprintf(stderr, "server_bench: submit failed: %s\n",
                     r ? r->body.c_str() : r.error().message().c_str());
        return 1;
      }
      ids.push_back(nlohmann::json::parse(r->body)["id"].get<int64_t>());
    }
    std::vector<double> lat;
    for (int64_t id : ids) {
      for (int tries = 0; tries < 6000; ++tries) {
        auto r = client.Call("GET", "/v1/jobs/" + std::to_string(id), "", headers);
        if (r && r->status == 200) {
          auto j = nlohmann::json::parse(r->body);
          if (j["startTime"].is_number()) {
            lat.push_back((j["startTime"].get<double>() - j["submitTime"].get<double>()) * 1000);
            break;
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    nlohmann::json out = {{"mode", "start"},
                          {"jobs", jobs},
                          {"started", lat.size()},
                          {"rate_per_second", rate},
                          {"submit_to_start_p50_ms", Percentile(lat, 0.5)},
                          {"submit_to_start_p99_ms", Percentile(lat, 0.99)}};
    std::printf("%s\n", out.dump().c_str());
    return lat.size() == ids.size() ? 0 : 1;
  }
  std::fprintf(stderr, "server_bench: --mode submit|start\n");
  return 2;
}
