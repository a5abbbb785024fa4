#include "base/yaml_error.h"

#include <yaml-cpp/yaml.h>

#include <string>

namespace kumo {

Status YamlError(std::string_view file, int line, std::string_view field_path,
                 std::string_view message) {
  std::string text = file.empty() ? "line " + std::to_string(line) + ": "
                                  : std::string(file) + ":" + std::to_string(line) + ": ";
  if (!field_path.empty()) text += std::string(field_path) + ": ";
  return Status::InvalidArgument(text + std::string(message));
}

Status YamlError(std::string_view file, const YAML::Mark& mark, std::string_view field_path,
                 std::string_view message) {
  return YamlError(file, mark.line >= 0 ? mark.line + 1 : 1, field_path, message);
}

Status YamlSyntaxError(std::string_view file, const YAML::Exception& e) {
  return YamlError(file, e.mark, "", "invalid YAML: " + e.msg);
}

Result<YAML::Node> LoadYamlFile(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile& e) {
    return Error(Status::InvalidArgument(path + ": " + e.what()));
  } catch (const YAML::Exception& e) {
    return Error(YamlSyntaxError(path, e));
  }
}

Status InYamlFile(std::string_view file, const Status& error) {
  const std::string& m = error.message();
  size_t digits = m.starts_with("line ") ? m.find_first_not_of("0123456789", 5) : 0;
  if (digits > 5 && digits != std::string::npos && m.compare(digits, 2, ": ") == 0)
    return Status(error.code(), std::string(file) + ":" + m.substr(5));
  return Status(error.code(), std::string(file) + ": " + m);
}

}  // namespace kumo
