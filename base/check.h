// Assertions for programmer errors: invariants that can only break through a
// bug in our code, never through bad input (bad input is an absl::Status).
//
//   INV_CHECK(cond) << "context";      always on, aborts with file:line
//   INV_DCHECK(cond) << "context";     debug builds only, for hot loops
//
// Thread-safe: the failure path writes to stderr and aborts.
#ifndef BASE_CHECK_H_
#define BASE_CHECK_H_

#include <sstream>
#include <string>

namespace base {

// Collects the message of a failed check and aborts when destroyed.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  [[noreturn]] ~CheckFailure();

  template <typename T>
  CheckFailure& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Swallows the stream of a check that is compiled out.
struct CheckVoidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace base

#define INV_CHECK(condition)                   \
  (__builtin_expect(!!(condition), 1)) ? (void)0 \
                                       : ::base::CheckVoidify() & ::base::CheckFailure(__FILE__, __LINE__, #condition)

#ifdef NDEBUG
#define INV_DCHECK(condition) \
  while (false) INV_CHECK(condition)
#else
#define INV_DCHECK(condition) INV_CHECK(condition)
#endif

#endif  // BASE_CHECK_H_
