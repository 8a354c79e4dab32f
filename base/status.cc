#include "base/status.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace base {

absl::Status InvalidField(std::string_view field, std::string_view problem) {
  absl::Status status = absl::InvalidArgumentError(absl::StrCat(AsAbsl(field), ": ", AsAbsl(problem)));
  status.SetPayload(AsAbsl(kFieldPayloadUrl), absl::Cord(AsAbsl(field)));
  return status;
}

std::optional<std::string> FieldOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(AsAbsl(kFieldPayloadUrl));
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

CheckFailure::CheckFailure(const char* file, int line, const char* condition) {
  stream_ << file << ":" << line << ": check failed: " << condition << " ";
}

CheckFailure::~CheckFailure() {
  std::string message = stream_.str();
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace base
