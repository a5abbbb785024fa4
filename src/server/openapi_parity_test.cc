// docs/openapi.yaml and the endpoint table of docs/api.md describe the same endpoints of
// `kumo server`: one (METHOD, path template) set. An endpoint added to one doc and not the other
// fails here, with the difference named.
//
// Path templates are compared with their parameters unnamed ("{id}", "{v|latest}" and
// "{cordon,uncordon,drain}" are all "{}") and without a query suffix ("[?force=true]",
// "?offset=O"), since the table writes them for people.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace kumo::server {
namespace {

using Endpoint = std::pair<std::string, std::string>;  // {"GET", "/v1/jobs/{}"}
using Endpoints = std::set<Endpoint>;

const std::string kSourceDir = KUMO_SOURCE_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "/v1/datasets/{v\|latest}[?force=true]" -> "/v1/datasets/{}".
std::string NormalisePath(std::string path) {
  if (size_t q = path.find_first_of("[?"); q != std::string::npos) path.resize(q);
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '{') {
      out += path[i];
      continue;
    }
    size_t close = path.find('}', i);
    if (close == std::string::npos) return out + path.substr(i);  // left as written: differs
    out += "{}";
    i = close;
  }
  return out;
}

// The cells of a markdown table row; "\|" does not split a cell.
std::vector<std::string> TableCells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += "\\|";
      ++i;
    } else if (line[i] == '|') {
      cells.push_back(cell);
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  cells.push_back(cell);
  for (auto& c : cells) {
    size_t b = c.find_first_not_of(' '), e = c.find_last_not_of(' ');
    c = b == std::string::npos ? "" : c.substr(b, e - b + 1);
  }
  return cells;  // "| a | b |" -> "", "a", "b", ""
}

bool IsMethod(const std::string& s) {
  static const std::set<std::string> kMethods = {"GET",  "PUT",     "POST", "DELETE",
                                                 "HEAD", "OPTIONS", "PATCH"};
  return kMethods.count(s) > 0;
}

// The rows `| METHOD | `/path` | ...` of the table under "## Endpoints" (up to the next heading).
Endpoints ApiMdEndpoints(const std::string& markdown, std::vector<std::string>* problems) {
  Endpoints out;
  std::istringstream in(markdown);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.starts_with("#")) {
      if (in_section) break;
      in_section = line == "## Endpoints";
      continue;
    }
    if (!in_section || !line.starts_with("|")) continue;
    auto cells = TableCells(line);
    if (cells.size() < 3 || !IsMethod(cells[1])) continue;
    const std::string& path = cells[2];
    if (path.size() < 3 || path.front() != '`' || path.back() != '`') {
      problems->push_back("api.md row without a `path`: " + line);
      continue;
    }
    if (!out.insert({cells[1], NormalisePath(path.substr(1, path.size() - 2))}).second)
      problems->push_back("api.md lists twice: " + line);
  }
  return out;
}

Endpoints OpenApiEndpoints(const YAML::Node& doc) {
  static const std::vector<std::string> kMethods = {"get",  "put",     "post",  "delete",
                                                    "head", "options", "patch", "trace"};
  Endpoints out;
  for (const auto& entry : doc["paths"]) {
    for (const auto& m : kMethods) {
      if (!entry.second[m]) continue;
      std::string upper;
      for (char c : m) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.insert({upper, NormalisePath(entry.first.as<std::string>())});
    }
  }
  return out;
}

// Whether the '/'-separated names left in `parts` lead from `node` to a node (const lookups
// only: a non-const yaml-cpp Node would insert what it is asked for).
bool Resolves(const YAML::Node& node, std::istream& parts) {
  std::string part;
  if (!std::getline(parts, part, '/')) return true;
  if (!node.IsMap()) return false;
  const YAML::Node child = node[part];
  return child && Resolves(child, parts);
}

// Every "$ref": "#/a/b/c" in `node` names a node of `doc`.
void CheckRefs(const YAML::Node& doc, const YAML::Node& node, std::vector<std::string>* bad) {
  if (node.IsSequence()) {
    for (const auto& n : node) CheckRefs(doc, n, bad);
    return;
  }
  if (!node.IsMap()) return;
  for (const auto& entry : node) {
    if (entry.first.as<std::string>() == "$ref") {
      std::string ref = entry.second.as<std::string>();
      if (!ref.starts_with("#/")) {
        bad->push_back(ref + " (not local)");
        continue;
      }
      std::istringstream parts(ref.substr(2));
      if (!Resolves(doc, parts)) bad->push_back(ref);
    } else {
      CheckRefs(doc, entry.second, bad);
    }
  }
}

std::string Describe(const Endpoints& e) {
  std::string s;
  for (const auto& [m, p] : e) s += "\n  " + m + " " + p;
  return s.empty() ? "\n  (none)" : s;
}

// The endpoints in one set and not the other, in words; empty when they agree.
std::string Difference(const Endpoints& openapi, const Endpoints& table) {
  Endpoints only_openapi, only_table;
  for (const auto& e : openapi)
    if (!table.count(e)) only_openapi.insert(e);
  for (const auto& e : table)
    if (!openapi.count(e)) only_table.insert(e);
  if (only_openapi.empty() && only_table.empty()) return "";
  return "in docs/openapi.yaml, not in docs/api.md's endpoint table:" + Describe(only_openapi) +
         "\nin docs/api.md's endpoint table, not in docs/openapi.yaml:" + Describe(only_table);
}

class OpenApiParityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    markdown_ = ReadFile(kSourceDir + "/docs/api.md");
    ASSERT_FALSE(markdown_.empty()) << kSourceDir << "/docs/api.md";
    ASSERT_NO_THROW(doc_ = YAML::LoadFile(kSourceDir + "/docs/openapi.yaml"));
  }
  std::string markdown_;
  YAML::Node doc_;
};

TEST_F(OpenApiParityTest, OpenApiParsesAndItsRefsResolve) {
  ASSERT_TRUE(doc_.IsMap());
  EXPECT_EQ(doc_["openapi"].as<std::string>(""), "3.0.3");
  ASSERT_TRUE(doc_["paths"].IsMap());
  ASSERT_TRUE(doc_["components"].IsMap());
  std::vector<std::string> bad;
  CheckRefs(doc_, doc_, &bad);
  EXPECT_TRUE(bad.empty()) << "unresolved $ref: " << ::testing::PrintToString(bad);
  for (const auto& entry : doc_["paths"]) {
    for (const auto& op : entry.second) {
      if (op.first.as<std::string>() == "parameters") continue;
      EXPECT_TRUE(op.second["responses"].IsMap())
          << op.first.as<std::string>() << " " << entry.first.as<std::string>()
          << ": no responses";
    }
  }
}

TEST_F(OpenApiParityTest, OpenApiAndTheApiMdTableListTheSameEndpoints) {
  std::vector<std::string> problems;
  Endpoints table = ApiMdEndpoints(markdown_, &problems);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
  Endpoints openapi = OpenApiEndpoints(doc_);
  // Both docs were read (not an empty set compared with an empty set).
  EXPECT_GE(table.size(), 30u);
  EXPECT_GE(openapi.size(), 30u);
  EXPECT_EQ(Difference(openapi, table), "");
}

// The comparison notices one endpoint less on either side.
TEST_F(OpenApiParityTest, AnEndpointMissingFromOneDocIsReported) {
  std::vector<std::string> problems;
  Endpoints table = ApiMdEndpoints(markdown_, &problems);
  Endpoints openapi = OpenApiEndpoints(doc_);
  ASSERT_TRUE(table.count({"GET", "/v1/datasets/{}/versions/{}"}));
  ASSERT_TRUE(openapi.count({"DELETE", "/v1/datasets/{}/versions/{}"}));
  YAML::Node fewer = YAML::Clone(doc_);
  fewer["paths"]["/v1/datasets/{name}/versions/{version}"].remove("delete");
  EXPECT_NE(Difference(OpenApiEndpoints(fewer), table).find("DELETE /v1/datasets/{}/versions/{}"),
            std::string::npos);
  Endpoints table_fewer = table;
  table_fewer.erase({"GET", "/metrics"});
  EXPECT_NE(Difference(openapi, table_fewer).find("GET /metrics"), std::string::npos);
}

TEST(OpenApiParity, PathsAreNormalised) {
  EXPECT_EQ(NormalisePath("/v1/datasets/{name}/versions/{v\\|latest}"),
            "/v1/datasets/{}/versions/{}");
  EXPECT_EQ(NormalisePath("/v1/datasets/{name}/versions/{v}[?force=true]"),
            "/v1/datasets/{}/versions/{}");
  EXPECT_EQ(NormalisePath("/v1/jobs/{id}/outputs/{path}?offset=O"), "/v1/jobs/{}/outputs/{}");
  EXPECT_EQ(NormalisePath("/v1/nodes/{name}/{cordon,uncordon,drain}"), "/v1/nodes/{}/{}");
  EXPECT_EQ(TableCells("| GET | `/a/{v\\|latest}` | x |"),
            (std::vector<std::string>{"", "GET", "`/a/{v\\|latest}`", "x", ""}));
}

}  // namespace
}  // namespace kumo::server
