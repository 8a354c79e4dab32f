// Distinct types for distinct identifiers, so a warehouse code can never be
// passed where a SKU is expected. A StrongId is a string with a tag type;
// it compares, hashes (Abseil and std) and prints like its value.
//
// Thread-safety: a value type; const access is safe from any thread.
#ifndef BASE_STRONG_ID_H_
#define BASE_STRONG_ID_H_

#include <compare>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace base {

template <typename Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(std::string value) : value_(std::move(value)) {}
  explicit StrongId(std::string_view value) : value_(value) {}
  explicit StrongId(const char* value) : value_(value) {}

  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend auto operator<=>(const StrongId&, const StrongId&) = default;
  friend bool operator==(const StrongId&, const StrongId&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const StrongId& id) {
    return H::combine(std::move(h), id.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, const StrongId& id) { return os << id.value_; }

 private:
  std::string value_;
};

}  // namespace base

template <typename Tag>
struct std::hash<base::StrongId<Tag>> {
  size_t operator()(const base::StrongId<Tag>& id) const { return std::hash<std::string>()(id.value()); }
};

#endif  // BASE_STRONG_ID_H_
