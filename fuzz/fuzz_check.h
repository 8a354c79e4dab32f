// FUZZ_CHECK: the fuzz targets' assertion. A broken property prints what was
// expected and aborts, which libFuzzer reports as a crash and saves the input.
#ifndef FUZZ_FUZZ_CHECK_H_
#define FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                         \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond, \
                   what);                                                              \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

#endif  // FUZZ_FUZZ_CHECK_H_
