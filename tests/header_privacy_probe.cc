// Must not compile: eventlog/internal/ is private to the event log (see
// INVENTORY_INCLUDE_ROOT in the top-level CMakeLists.txt and the
// header_privacy test in tests/CMakeLists.txt).
#include "eventlog/internal/log_limits.h"

int main() { return 0; }
